"""Builders for Stripe-shaped objects: Checkout Session, line item, PaymentIntent, Refund.

Charges and disputes: charge_objects.py.

Fields the sandbox does not model are present and null (or empty), as Stripe
sends them, so clients that decode strictly see the shape they expect.
Keys starting with `_` are the sandbox's own bookkeeping and never leave it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.stripe_api.ids import new_id


@dataclass(frozen=True)
class LineItemSpec:
    """One validated `line_items[n]` entry with inline `price_data`."""

    name: str
    unit_amount: int
    quantity: int
    currency: str
    description: str | None = None


@dataclass(frozen=True)
class SessionSpec:
    """A validated `POST /v1/checkout/sessions` request."""

    success_url: str
    currency: str
    line_items: list[LineItemSpec]
    expires_at: int
    cancel_url: str | None = None
    client_reference_id: str | None = None
    customer_email: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    payment_intent_metadata: dict[str, str] = field(default_factory=dict)


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as Stripe would send it: without the sandbox's `_` keys."""
    return {key: value for key, value in obj.items() if not key.startswith("_")}


def line_item(spec: LineItemSpec) -> dict[str, Any]:
    total = spec.unit_amount * spec.quantity
    return {
        "id": new_id("li"),
        "object": "item",
        "amount_discount": 0,
        "amount_subtotal": total,
        "amount_tax": 0,
        "amount_total": total,
        "currency": spec.currency,
        "description": spec.name,
        "price": {
            "id": new_id("price"),
            "object": "price",
            "active": False,
            "currency": spec.currency,
            "product": new_id("prod"),
            "type": "one_time",
            "unit_amount": spec.unit_amount,
            "unit_amount_decimal": str(spec.unit_amount),
            "livemode": False,
        },
        "quantity": spec.quantity,
    }


def checkout_session(spec: SessionSpec, now: int, page_base: str) -> dict[str, Any]:
    session_id = new_id("cs_test", 58)
    items = [line_item(item) for item in spec.line_items]
    total = sum(item["amount_total"] for item in items)
    return {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": None,
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": total,
        "amount_total": total,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": spec.cancel_url,
        "client_reference_id": spec.client_reference_id,
        "client_secret": None,
        "consent": None,
        "consent_collection": None,
        "created": now,
        "currency": spec.currency,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": None,
        "customer_creation": "if_required",
        "customer_details": _customer_details(spec.customer_email),
        "customer_email": spec.customer_email,
        "discounts": [],
        "expires_at": spec.expires_at,
        "invoice": None,
        "invoice_creation": None,
        "livemode": False,
        "locale": None,
        "metadata": dict(spec.metadata),
        "mode": "payment",
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": spec.success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": f"{page_base}/c/pay/{session_id}",
        "_line_items": items,
        "_payment_intent_metadata": dict(spec.payment_intent_metadata),
    }


def _customer_details(email: str | None) -> dict[str, Any] | None:
    if email is None:
        return None
    return {
        "address": None,
        "email": email,
        "name": None,
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def paid_customer_details(email: str | None) -> dict[str, Any]:
    details = _customer_details(email or "customer@example.com")
    assert details is not None
    return details


def payment_intent(session: dict[str, Any], now: int) -> dict[str, Any]:
    intent_id = new_id("pi")
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": session["amount_total"],
        "amount_capturable": 0,
        "amount_received": 0,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{intent_id}_secret_{new_id('x')[2:]}",
        "confirmation_method": "automatic",
        "created": now,
        "currency": session["currency"],
        "customer": None,
        "description": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": dict(session["_payment_intent_metadata"]),
        "next_action": None,
        "payment_method": None,
        "payment_method_types": ["card"],
        "receipt_email": None,
        "status": "requires_payment_method",
    }


def refund(
    charge: dict[str, Any],
    amount: int,
    metadata: dict[str, str],
    reason: str | None,
    status: str,
    now: int,
) -> dict[str, Any]:
    """A Refund of `charge`, `pending` or `succeeded` when made (refund_outcomes.py moves it)."""
    return {
        "id": new_id("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": new_id("txn"),
        "charge": charge["id"],
        "created": now,
        "currency": charge["currency"],
        "description": None,
        "destination_details": {"card": {"type": "refund"}, "type": "card"},
        "failure_balance_transaction": None,
        "failure_reason": None,
        "instructions_email": None,
        "metadata": metadata,
        "next_action": None,
        "payment_intent": charge["payment_intent"],
        "payment_method": charge["payment_method"],
        "pending_reason": "processing" if status == "pending" else None,
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": status,
        "transfer_reversal": None,
    }


def list_envelope(data: list[dict[str, Any]], has_more: bool, url: str) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}
