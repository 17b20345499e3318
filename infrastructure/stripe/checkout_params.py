"""The parameters of a Stripe Checkout Session create, and the idempotency key that goes with them.

Stripe replays the first answer to a key (a 5xx included) for 24 h and refuses
the key with other parameters, so the key names the exact parameters and a
five-minute time bucket, and `expires_at` is derived from that bucket: within a
bucket the same order always sends the same request under the same key; a
later bucket gets a fresh key, so a failed attempt cannot poison the next one.
See ADR 0008.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

import msgspec

from application.ports import CheckoutRequest
from domain.errors import InvalidOrder
from domain.money import Money

BUCKET_SECONDS = 300
ATTEMPT_METADATA = "checkoutAttempt"
# Room for clock skew between us and Stripe, which checks expires_at against its own clock.
SKEW_SECONDS = 60
STRIPE_MAX_EXPIRY_SECONDS = 24 * 60 * 60
# CHECKOUT_EXPIRES_MINUTES: Stripe takes an expires_at 30 min to 24 h away. The one
# definition, read by the settings and the gateway alike.
MIN_EXPIRES_MINUTES, MAX_EXPIRES_MINUTES = 30, 24 * 60
# Stripe keys are at most 255 characters; this leaves room for ":<digest>:<bucket>".
MAX_BASE_LENGTH = 200
# Currencies Stripe charges only in whole steps of their minor unit: the three-decimal
# ones to the ten (5.124 KWD must be 5.120), and ISK, which Stripe takes as two-decimal
# for backwards compatibility, in whole krónur (5 ISK is 500).
STRIPE_AMOUNT_STEPS: dict[str, int] = {
    **dict.fromkeys(("bhd", "jod", "kwd", "omr", "tnd"), 10),
    "isk": 100,
}


class SessionAttempt(msgspec.Struct, frozen=True):
    """One create request: its parameters (expires_at included) and its idempotency key."""

    params: dict[str, Any]
    idempotency_key: str
    expires_at: int


def session_params(request: CheckoutRequest, frontend_url: str) -> dict[str, Any]:
    """Everything but `expires_at`; raises `InvalidOrder` unless lines add up to the total
    and every amount is one Stripe can charge."""
    order = request.order
    lines = order.chargeable_lines()
    for line in lines:
        _check_stripe_step(order.order_id, line.product_id, line.unit_price)
    page = f"{frontend_url.rstrip('/')}/orders/{quote(order.order_id, safe='')}"
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": line.unit_price.currency,
                    "unit_amount": line.unit_price.minor,
                    "product_data": {"name": line.name or line.product_id},
                },
                "quantity": line.quantity,
            }
            for line in lines
        ],
        "client_reference_id": order.order_id,
        "metadata": {"orderId": order.order_id, "userId": order.user_id},
        "payment_intent_data": {"metadata": {"orderId": order.order_id}},
        # Stripe substitutes {CHECKOUT_SESSION_ID} itself; the braces must reach it as is.
        "success_url": f"{page}?payment=success&session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{page}?payment=cancelled",
    }
    if request.customer_email:
        params["customer_email"] = request.customer_email
    return params


def _check_stripe_step(order_id: str, product_id: str, price: Money) -> None:
    """Refuses, before Stripe does, an amount Stripe cannot charge in this currency."""
    step = STRIPE_AMOUNT_STEPS.get(price.currency, 1)
    if price.minor % step:
        raise InvalidOrder(
            f"order {order_id}: Stripe charges {price.currency.upper()} only in multiples of "
            f"{step} minor units, but {product_id} costs {price}"
        )


def session_attempt(
    request: CheckoutRequest,
    frontend_url: str,
    expires_minutes: int,
    now: datetime,
    spent: int = 0,
) -> SessionAttempt:
    """The create of this time bucket; `spent`: how many of its keys Stripe has failed."""
    params = session_params(request, frontend_url)
    bucket = int(now.timestamp()) // BUCKET_SECONDS
    expires_at = bucket * BUCKET_SECONDS + _lifetime_seconds(expires_minutes)
    digest = hashlib.sha256(_canonical(params)).hexdigest()[:16]
    key = f"{_bounded(request.idempotency_key)}:{digest}:{bucket}"
    if spent:
        key = f"{key}:{spent}"
    return SessionAttempt(_marked({**params, "expires_at": expires_at}, key), key, expires_at)


def _marked(params: dict[str, Any], attempt: str) -> dict[str, Any]:
    """The attempt (its key) in the session's metadata and its PaymentIntent's, where Stripe
    copies it: a decline names the session it happened on (issue 11, ADR 0018)."""
    metadata = {**params["metadata"], ATTEMPT_METADATA: attempt}
    intent = params["payment_intent_data"]
    intent_metadata = {**intent["metadata"], ATTEMPT_METADATA: attempt}
    return {
        **params,
        "metadata": metadata,
        "payment_intent_data": {**intent, "metadata": intent_metadata},
    }


def _lifetime_seconds(expires_minutes: int) -> int:
    """From the bucket's start; at least 30 min and at most 24 h from any moment in the bucket."""
    wanted = expires_minutes * 60 + BUCKET_SECONDS + SKEW_SECONDS
    return min(wanted, STRIPE_MAX_EXPIRY_SECONDS - SKEW_SECONDS)


def _canonical(params: dict[str, Any]) -> bytes:
    return json.dumps(params, sort_keys=True, separators=(",", ":")).encode()


def _bounded(base: str) -> str:
    """Stripe keys are at most 255 characters; a very long order id is hashed instead."""
    if len(base) <= MAX_BASE_LENGTH:
        return base
    return "checkout-sha256:" + hashlib.sha256(base.encode()).hexdigest()
