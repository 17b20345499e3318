"""Checkout Session parameters as the payment service sends them."""

from __future__ import annotations

import time
from typing import Any, cast

import stripe
from stripe.params.checkout import SessionCreateParams


def hosted_page(session: stripe.checkout.Session) -> str:
    """The URL of an open session's payment page."""
    assert session.url is not None, session.id
    return session.url


def session_params(order_id: str = "order-1", **overrides: Any) -> SessionCreateParams:
    """As the SDK types them; `overrides` may be deliberately wrong, for the sandbox to refuse."""
    params: dict[str, Any] = {
        "mode": "payment",
        "success_url": "https://shop.example/success?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://shop.example/cancel",
        "client_reference_id": order_id,
        "customer_email": "buyer@example.com",
        "metadata": {"orderId": order_id, "userId": "user-1"},
        "payment_intent_data": {"metadata": {"orderId": order_id}},
        "expires_at": int(time.time()) + 3600,
        "line_items": [
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 1999,
                    "product_data": {"name": "Headphones"},
                },
                "quantity": 2,
            },
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 500,
                    "product_data": {"name": "Cable"},
                },
                "quantity": 1,
            },
        ],
    }
    params.update(overrides)
    return cast(SessionCreateParams, params)
