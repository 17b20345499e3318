"""What the OpenAPI document says beyond the handlers' signatures.

Every answer a route can give is declared, with the body it carries: the seed's
`{"error": …}` for each error status (interfaces/errors.py decides which), the
routes that take no JWT as such, and the webhook's body and signature header,
which the handler reads raw. Schemathesis checks every answer against this
document (tests/e2e/test_openapi_conformance.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Parameter,
    RequestBody,
    Schema,
)

from domain.refund import REFUND_REASONS

ERROR_MEANINGS = {
    400: "The request is malformed or cannot be honoured (the message says which)",
    401: "User not authenticated: no, a malformed, an expired or a forged JWT",
    403: "Admin role required",
    404: "Order not found (also an order that belongs to someone else)",
    409: "Idempotency-Key reused with a different request",
    413: "Payload too large",
    429: "Too many requests (create-session per user); Retry-After says when to try again",
    500: "Internal server error (Stripe refused the session, or a fault of ours: see the logs)",
    503: "Order service unavailable",
}


class ErrorBody(msgspec.Struct):
    """Every error answer: one message, never a stack trace."""

    error: str


def error_responses(*codes: int) -> dict[int, ResponseSpec]:
    """The `responses=` of a route that may answer these error statuses."""
    return {
        code: ResponseSpec(
            data_container=ErrorBody,
            description=ERROR_MEANINGS.get(code, HTTPStatus(code).phrase),
            generate_examples=False,
        )
        for code in codes
    }


@dataclass
class PublicOperation(Operation):
    """A route that takes no JWT (the document's default is the bearer token)."""

    def __post_init__(self) -> None:
        self.security = []


WEBHOOK_EVENT_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    description="A Stripe event, as Stripe signs and sends it",
    required=["id", "type", "data"],
    properties={
        "id": Schema(type=OpenAPIType.STRING, examples=["evt_1"]),
        "type": Schema(
            type=OpenAPIType.STRING,
            examples=["checkout.session.completed", "checkout.session.expired"],
        ),
        "created": Schema(type=OpenAPIType.INTEGER),
        "data": Schema(
            type=OpenAPIType.OBJECT,
            required=["object"],
            properties={"object": Schema(type=OpenAPIType.OBJECT)},
        ),
    },
)
SIGNATURE_HEADER = Parameter(
    name="Stripe-Signature",
    param_in="header",
    required=False,  # checked by the handler, so a missing one is "Invalid signature" too
    description="t=<unix time>,v1=<HMAC-SHA256 of t.body> with the endpoint's whsec_ secret",
    schema=Schema(type=OpenAPIType.STRING),
)


@dataclass
class WebhookOperation(PublicOperation):
    """`POST /webhook`: the handler verifies the raw body, so the document says what it is."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.parameters = [SIGNATURE_HEADER]
        self.request_body = RequestBody(
            required=True,
            content={"application/json": OpenAPIMediaType(schema=WEBHOOK_EVENT_SCHEMA)},
        )


IDEMPOTENCY_KEY_PARAMETER = Parameter(
    name="Idempotency-Key",
    param_in="header",
    required=True,
    description=(
        "Names the refund: the same key with the same body answers the same 202 and refunds "
        "nothing more; with another body, 409. One key space for all admins (ADR 0023)."
    ),
    schema=Schema(type=OpenAPIType.STRING, min_length=1, max_length=255, pattern="^[ -~]+$"),
)
REFUND_REQUEST_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["orderId"],
    additional_properties=False,
    properties={
        "orderId": Schema(type=OpenAPIType.STRING, min_length=1, max_length=200),
        "amount": Schema(
            type=OpenAPIType.NUMBER,
            exclusive_minimum=0,
            description="Major units (50.00); leave it out to refund all that remains refundable",
        ),
        "reason": Schema(
            type=OpenAPIType.STRING, enum=sorted(REFUND_REASONS), description="Stripe's reasons"
        ),
    },
)


@dataclass
class RefundOperation(Operation):
    """`POST /refunds`: the handler reads the key and the body's exact digits itself."""

    def __post_init__(self) -> None:
        self.parameters = [IDEMPOTENCY_KEY_PARAMETER]
        self.request_body = RequestBody(
            required=True,
            content={"application/json": OpenAPIMediaType(schema=REFUND_REQUEST_SCHEMA)},
        )
