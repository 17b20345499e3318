"""Stripe-shaped API errors: `{"error": {"type", "code", "message", "param"}}`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StripeApiError(Exception):
    """An error answered in Stripe's format with Stripe's status code."""

    status: int
    type: str
    message: str
    code: str | None = None
    param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None
) -> StripeApiError:
    return StripeApiError(400, "invalid_request_error", message, code=code, param=param)


def missing_param(param: str) -> StripeApiError:
    return invalid_request(
        f"Missing required param: {param}.", param=param, code="parameter_missing"
    )


def unknown_param(param: str) -> StripeApiError:
    return invalid_request(
        f"Received unknown parameter: {param}", param=param, code="parameter_unknown"
    )


def resource_missing(kind: str, object_id: str, *, param: str = "id") -> StripeApiError:
    return StripeApiError(
        404,
        "invalid_request_error",
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def unauthenticated(message: str) -> StripeApiError:
    return StripeApiError(401, "invalid_request_error", message)


def idempotency_mismatch(key: str) -> StripeApiError:
    return StripeApiError(
        400,
        "idempotency_error",
        "Keys for idempotent requests can only be used with the same parameters they "
        f"were first used with. Try using a key other than '{key}' if you meant to "
        "execute a different request.",
    )


def idempotency_in_flight() -> StripeApiError:
    return StripeApiError(
        409,
        "idempotency_error",
        "There is currently another in-progress request using this Idempotent Key "
        "(that probably means you submitted twice, and that's fine). Please try again later.",
        code="idempotency_key_in_use",
    )


def injected_failure(status: int) -> StripeApiError:
    # Stripe sends `Stripe-Should-Retry: false` with most 500s: replaying the
    # same idempotency key would only return the saved 500 again.
    return StripeApiError(
        status,
        "api_error",
        "An unknown error occurred (injected by the sandbox's fault endpoint).",
        headers={"Stripe-Should-Retry": "false"},
    )
