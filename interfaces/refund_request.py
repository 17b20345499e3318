"""Reads `POST /refunds`: its `Idempotency-Key` header and its JSON body, strictly.

Money is at stake, so nothing is guessed: an unknown field (a misspelt `amount` would
otherwise refund everything), an amount that is not a JSON number, or one no currency
can hold is refused with a 400 that says which, before anything is looked up. The
amount is read from the body's own digits (`50.10` stays exactly 50.10, never a float).
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from typing import Any

import msgspec

from application.refunds import RefundRequest
from domain.refund import REFUND_REASONS
from interfaces.errors import (
    CONTROL_CHARACTERS_IN_ORDER_ID,
    MALFORMED_JSON,
    MAX_ORDER_ID_LENGTH,
    ORDER_ID_NOT_TEXT,
    ORDER_ID_REQUIRED,
    ORDER_ID_TOO_LONG,
    BadRequest,
)

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY_LENGTH = 255  # Stripe's own bound on its keys
KEY_REQUIRED = "Idempotency-Key header is required"
KEY_MALFORMED = (
    f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters"
)
BODY_NOT_OBJECT = "Request body must be a JSON object"
FIELDS = frozenset({"orderId", "amount", "reason"})
AMOUNT_NOT_NUMBER = "amount must be a number (leave it out to refund all that remains)"
AMOUNT_NOT_POSITIVE = "amount must be greater than 0"
# No charge reaches 10^12 major units in any currency; a bigger exponent is only work.
MAX_AMOUNT_DIGITS = 12
AMOUNT_TOO_LARGE = "amount is too large"
REASON_UNKNOWN = f"reason must be one of {', '.join(sorted(REFUND_REASONS))}"

_exact = msgspec.json.Decoder(float_hook=Decimal)


def idempotency_key_of(header: str | None) -> str:
    if header is None or not header.strip():
        raise BadRequest(KEY_REQUIRED)
    key = header.strip()
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        raise BadRequest(KEY_MALFORMED)
    return key


def refund_request_of(body: bytes) -> RefundRequest:
    """The body as a request; `BadRequest` naming the first problem otherwise."""
    if not body.strip():
        raise BadRequest(BODY_NOT_OBJECT)
    try:
        fields: Any = _exact.decode(body)
    except msgspec.DecodeError:
        raise BadRequest(MALFORMED_JSON) from None
    if not isinstance(fields, dict):
        raise BadRequest(BODY_NOT_OBJECT)
    unknown = sorted(set(fields) - FIELDS)
    if unknown:
        raise BadRequest(f"Unknown field: {unknown[0][:50]}")
    amount = _amount(fields["amount"]) if "amount" in fields else None
    return RefundRequest(_order_id(fields.get("orderId")), amount, _reason(fields.get("reason")))


def _order_id(value: object) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise BadRequest(ORDER_ID_REQUIRED)
    if not isinstance(value, str):
        raise BadRequest(ORDER_ID_NOT_TEXT)
    if len(value) > MAX_ORDER_ID_LENGTH:
        raise BadRequest(ORDER_ID_TOO_LONG)
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise BadRequest(CONTROL_CHARACTERS_IN_ORDER_ID)
    return value


def _amount(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise BadRequest(AMOUNT_NOT_NUMBER)
    amount = Decimal(value)
    if amount <= 0:
        raise BadRequest(AMOUNT_NOT_POSITIVE)
    if amount.adjusted() >= MAX_AMOUNT_DIGITS:
        raise BadRequest(AMOUNT_TOO_LARGE)
    return amount


def _reason(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in REFUND_REASONS:
        raise BadRequest(REASON_UNKNOWN)
    return value
