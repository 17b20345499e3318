"""The one place where errors become HTTP answers: `{"error": "<message>"}`.

Messages and codes are the seed's contract (DESIGN.md). Whatever is not in the
table is a 500 with a fixed message: details go to the log, never to the client.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    ValidationException,
)
from litestar.status_codes import (
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_429_TOO_MANY_REQUESTS,
)

from application.errors import (
    AdminRoleRequired,
    CheckoutUnavailable,
    IdempotencyKeyReused,
    OrderNotFound,
    OrderNotPayable,
    OrderServiceUnavailable,
    PaymentAlreadyCompleted,
    ServiceRejected,
)
from application.stripe_events import MalformedStripeEvent
from domain.errors import (
    InvalidAmount,
    InvalidOrder,
    InvalidRefundAmount,
    InvalidRefundReason,
    PaymentNotRefundable,
    RefundExceedsRefundable,
)
from interfaces.rate_limit import RESET_HEADER
from interfaces.webhook_signature import InvalidSignature

log = logging.getLogger(__name__)

CHECKOUT_FAILED = "Failed to create payment session"
INTERNAL_ERROR = "Internal server error"
ORDER_ID_FIELD = "orderId"
MALFORMED_JSON = "Malformed JSON body"
NESTED_TOO_DEEPLY = "Request body is nested too deeply"
ORDER_ID_REQUIRED = "orderId is required"
ORDER_ID_NOT_TEXT = "orderId must be a string"
MAX_ORDER_ID_LENGTH = 200
ORDER_ID_TOO_LONG = f"orderId must be at most {MAX_ORDER_ID_LENGTH} characters"
CONTROL_CHARACTERS_IN_ORDER_ID = "orderId must not contain control characters"
# msgspec's words for an orderId of the wrong type, length or content, and our answer.
ORDER_ID_PROBLEMS = (
    ("Expected `str`, got `null`", ORDER_ID_REQUIRED),
    ("Expected `str`, got", ORDER_ID_NOT_TEXT),
    ("Expected `str` of length <=", ORDER_ID_TOO_LONG),
    (CONTROL_CHARACTERS_IN_ORDER_ID, CONTROL_CHARACTERS_IN_ORDER_ID),
)
# How msgspec (through Litestar) words a body that is not JSON at all.
JSON_SYNTAX_MARKERS = ("malformed", "truncated", "trailing characters")


class BadRequest(Exception):
    """A request refused with a 400 whose message (the exception's text) is for the client."""


# Typed errors with a fixed answer; a subclass answers like its nearest listed base.
FIXED_ANSWERS: dict[type[Exception], tuple[int, str]] = {
    OrderNotFound: (404, "Order not found"),
    PaymentAlreadyCompleted: (400, "Payment already completed"),
    OrderServiceUnavailable: (503, "Order service unavailable"),
    ServiceRejected: (503, "Order service unavailable"),
    CheckoutUnavailable: (500, CHECKOUT_FAILED),
    InvalidOrder: (500, CHECKOUT_FAILED),
    InvalidAmount: (500, CHECKOUT_FAILED),
    InvalidSignature: (400, "Invalid signature"),
    MalformedStripeEvent: (400, "Invalid payload"),
    NotAuthorizedException: (401, "User not authenticated"),
    AdminRoleRequired: (403, "Admin role required"),
    IdempotencyKeyReused: (409, "Idempotency-Key reused with a different request"),
    PaymentNotRefundable: (400, "Payment is not refundable"),
    RefundExceedsRefundable: (400, "Refund exceeds the refundable amount"),
}
# Refused with their own words: the admin's amount or reason, and what is wrong with it.
OWN_WORDS_400 = (OrderNotPayable, BadRequest, InvalidRefundAmount, InvalidRefundReason)


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> Response[dict[str, str]]:
    return Response(
        {"error": message}, status_code=status, media_type=MediaType.JSON, headers=headers
    )


def answer_for(error: Exception) -> tuple[int, str]:
    """The status and client-facing message for any error raised while handling a request."""
    if isinstance(error, OWN_WORDS_400):
        return 400, str(error)
    for kind in type(error).__mro__:
        if kind in FIXED_ANSWERS:
            return FIXED_ANSWERS[kind]
    if isinstance(error, ValidationException):
        return 400, _validation_message(error)
    if isinstance(error, HTTPException):
        return error.status_code, _http_message(error)
    return 500, INTERNAL_ERROR


def handle_error(request: Request[Any, Any, Any], error: Exception) -> Response[dict[str, str]]:
    status, message = answer_for(error)
    if status >= 500:
        log.error(
            "request failed",
            exc_info=error,
            extra={"path": request.url.path, "status": status, "errorType": type(error).__name__},
        )
    else:
        log.info(
            "request refused",
            extra={"path": request.url.path, "status": status, "reason": str(error)[:200]},
        )
    return error_response(status, message, _headers_of(error))


def _headers_of(error: Exception) -> dict[str, str] | None:
    """An HTTP exception's own headers; a 429 also says when to retry."""
    if not isinstance(error, HTTPException) or not error.headers:
        return None
    headers = dict(error.headers)
    if error.status_code == HTTP_429_TOO_MANY_REQUESTS and RESET_HEADER in headers:
        headers["Retry-After"] = headers[RESET_HEADER]
    return headers


def _validation_message(error: ValidationException) -> str:
    problems = error.extra if isinstance(error.extra, list) else []
    for problem in problems:
        if isinstance(problem, dict) and ORDER_ID_FIELD in str(problem.get("key", "")) + str(
            problem.get("message", "")
        ):
            return _order_id_message(str(problem.get("message", "")))
    if error.detail.startswith("Content-Type"):
        return error.detail
    if _is_json_syntax_error(error.detail):
        return MALFORMED_JSON
    return "Request body must be a JSON object"


def _order_id_message(problem: str) -> str:
    for words, answer in ORDER_ID_PROBLEMS:
        if words in problem:
            return answer
    return ORDER_ID_REQUIRED


def _http_message(error: HTTPException) -> str:
    if error.status_code == HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        return "Payload too large"
    if error.status_code == HTTP_429_TOO_MANY_REQUESTS:
        return "Too many requests"
    if error.status_code >= 500:
        return INTERNAL_ERROR
    if _is_json_syntax_error(error.detail):
        return MALFORMED_JSON  # the parser's position detail helps nobody
    return error.detail or "Request refused"


def _is_json_syntax_error(detail: str) -> bool:
    return any(marker in detail.lower() for marker in JSON_SYNTAX_MARKERS)
