"""Builders for the Stripe objects money moves on after a payment: Charge, Dispute, and the
balance transactions a dispute withdraws and reinstates.

As in objects.py, unmodelled fields are present and null, and `_` keys stay in the sandbox.
"""

from __future__ import annotations

from typing import Any

from sandbox.stripe_api.ids import new_id

DISPUTE_FEE = 1500  # Stripe's US dispute fee, in cents; kept even when the dispute is won
EVIDENCE_DUE_SECONDS = 14 * 24 * 3600

_EVIDENCE_FIELDS = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "customer_signature",
    "duplicate_charge_documentation",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "receipt",
    "refund_policy",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "service_documentation",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_documentation",
    "shipping_tracking_number",
    "uncategorized_file",
    "uncategorized_text",
)


def charge(
    intent: dict[str, Any], refunds: str, dispute_reason: str | None, now: int
) -> dict[str, Any]:
    """The succeeded charge of a PaymentIntent; `refunds` is how its refunds behave, and a
    `dispute_reason` disputes it at once (both from the test card paid with)."""
    method = intent.get("payment_method") or {}
    card = method.get("card")
    return {
        "id": new_id("ch"),
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": intent["amount"],
        "amount_refunded": 0,
        "application_fee_amount": None,
        "balance_transaction": new_id("txn"),
        "billing_details": {"address": None, "email": None, "name": None, "phone": None},
        "calculated_statement_descriptor": "SANDBOX",
        "captured": True,
        "created": now,
        "currency": intent["currency"],
        "customer": None,
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "outcome": {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": True,
        "payment_intent": intent["id"],
        "payment_method": method.get("id"),
        "payment_method_details": {"card": card, "type": "card"} if card else None,
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "status": "succeeded",
        "_refunds": refunds,
        "_dispute_reason": dispute_reason,
        "_disputes": [],
    }


def dispute(charge_obj: dict[str, Any], amount: int, reason: str, now: int) -> dict[str, Any]:
    dispute_id = new_id("du")
    card = (charge_obj.get("payment_method_details") or {}).get("card") or {}
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": charge_obj["id"],
        "created": now,
        "currency": charge_obj["currency"],
        "enhanced_eligibility_types": [],
        "evidence": dict.fromkeys(_EVIDENCE_FIELDS),
        "evidence_details": {
            "due_by": now + EVIDENCE_DUE_SECONDS,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "network_reason_code": None,
        "payment_intent": charge_obj["payment_intent"],
        "payment_method_details": {
            "card": {
                "brand": card.get("brand", "visa"),
                "case_type": "chargeback",
                "network_reason_code": None,
            },
            "type": "card",
        },
        "reason": reason,
        "status": "needs_response",
    }


def dispute_balance_transaction(
    dispute_obj: dict[str, Any], withdrawal: bool, now: int
) -> dict[str, Any]:
    """Money taken (with the fee) when a dispute opens, or given back when it is won."""
    amount = -dispute_obj["amount"] if withdrawal else dispute_obj["amount"]
    fee = DISPUTE_FEE if withdrawal else 0
    kind = "withdrawal" if withdrawal else "reversal"
    return {
        "id": new_id("txn"),
        "object": "balance_transaction",
        "amount": amount,
        "available_on": now,
        "created": now,
        "currency": dispute_obj["currency"],
        "description": f"Chargeback {kind} for {dispute_obj['charge']}",
        "exchange_rate": None,
        "fee": fee,
        "fee_details": [
            {
                "amount": fee,
                "application": None,
                "currency": dispute_obj["currency"],
                "description": "Dispute fee",
                "type": "stripe_fee",
            }
        ]
        if fee
        else [],
        "net": amount - fee,
        "reporting_category": "dispute" if withdrawal else "dispute_reversal",
        "source": dispute_obj["id"],
        "status": "available",
        "type": "adjustment",
    }
