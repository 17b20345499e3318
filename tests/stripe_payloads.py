"""Stripe event payloads shaped like Stripe's, and signatures made as Stripe makes them."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

_ids = itertools.count(1)


def event_id() -> str:
    return f"evt_test_{next(_ids):06d}"


def checkout_event(
    event_type: str,
    order_id: str,
    session_id: str,
    payment_status: str = "paid",
    amount_total: int = 20498,
    currency: str = "usd",
    payment_intent: str | None = "pi_test_1",
    evt_id: str | None = None,
) -> dict[str, Any]:
    status = {"checkout.session.expired": "expired"}.get(event_type, "complete")
    return _event(
        event_type,
        {
            "id": session_id,
            "object": "checkout.session",
            "amount_total": amount_total,
            "currency": currency,
            "client_reference_id": order_id,
            "customer_details": {"email": "buyer@example.com", "name": None},
            "customer_email": None,
            "metadata": {"orderId": order_id},
            "mode": "payment",
            "payment_intent": payment_intent,
            "payment_status": payment_status,
            "status": status,
            "url": None,
            "discounts": [],
            "total_details": None,
        },
        evt_id,
    )


def payment_failed_event(
    order_id: str, payment_intent: str = "pi_test_1", evt_id: str | None = None
) -> dict[str, Any]:
    return _event(
        "payment_intent.payment_failed",
        {
            "id": payment_intent,
            "object": "payment_intent",
            "amount": 20498,
            "currency": "usd",
            "status": "requires_payment_method",
            "metadata": {"orderId": order_id},
            "last_payment_error": {
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
                "type": "card_error",
            },
        },
        evt_id,
    )


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, indent=2).encode()


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header value Stripe would send for `body`."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def _event(event_type: str, data_object: dict[str, Any], evt_id: str | None) -> dict[str, Any]:
    return {
        "id": evt_id or event_id(),
        "object": "event",
        "api_version": "2025-09-30.clover",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": data_object},
    }


def refund_event(
    event_type: str,
    refund_id: str,
    amount: int,
    status: str,
    payment_intent: str = "pi_test_1",
    metadata: dict[str, str] | None = None,
    currency: str = "usd",
    evt_id: str | None = None,
) -> dict[str, Any]:
    """`refund.created`, `refund.updated`, `refund.failed` or `charge.refund.updated`: ours
    carry metadata {orderId, refundId}; one made in the dashboard has none."""
    refund = {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": None,
        "charge": "ch_test_1",
        "created": int(time.time()),
        "currency": currency,
        "destination_details": None,
        "failure_reason": "lost_or_stolen_card" if status == "failed" else None,
        "metadata": metadata or {},
        "payment_intent": payment_intent,
        "reason": None,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": status,
        "transfer_reversal": None,
    }
    return _event(event_type, refund, evt_id)


def charge_refunded_event(
    amount_refunded: int,
    payment_intent: str = "pi_test_1",
    amount: int = 20498,
    metadata: dict[str, str] | None = None,
    evt_id: str | None = None,
) -> dict[str, Any]:
    """`charge.refunded` as current API versions send it: the running total, no list."""
    charge = {
        "id": "ch_test_1",
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": amount_refunded,
        "currency": "usd",
        "metadata": metadata or {},
        "paid": True,
        "payment_intent": payment_intent,
        "refunded": amount_refunded >= amount,
        "status": "succeeded",
    }
    return _event("charge.refunded", charge, evt_id)


def dispute_event(
    event_type: str,
    dispute_id: str,
    status: str,
    amount: int = 20498,
    reason: str = "fraudulent",
    payment_intent: str = "pi_test_1",
    evt_id: str | None = None,
) -> dict[str, Any]:
    """`charge.dispute.*`: found through its PaymentIntent (its metadata is its own)."""
    dispute = {
        "id": dispute_id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": "ch_test_1",
        "created": int(time.time()),
        "currency": "usd",
        "evidence_details": {"due_by": int(time.time()) + 86400, "has_evidence": False},
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": payment_intent,
        "reason": reason,
        "status": status,
    }
    return _event(event_type, dispute, evt_id)
