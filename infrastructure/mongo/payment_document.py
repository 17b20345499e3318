"""The `payments` document of the MongoDB status view: the seed's Payment Model shape.

One document per order. `amount` is in major units as the seed stored it (a
number, for display); `amountMinor` is the exact amount; `version` is the
Payment aggregate version the document reflects, the guard of every update.
BSON dates keep milliseconds, so `createdAt`/`updatedAt` lose sub-millisecond digits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.collection import Collection

from application.ports import PaymentStatusReport
from domain.money import Money

PAYMENTS = "payments"
TRACKING = "projection_tracking"
DEFAULT_DATABASE = "paymentdb"

PaymentDocument = dict[str, Any]


def document_of(report: PaymentStatusReport) -> PaymentDocument:
    """The view document of a payment's state (without `_id`)."""
    return {
        "orderId": report.order_id,
        "stripeSessionId": report.session_id,
        "amount": float(report.amount.to_major()),
        "amountMinor": report.amount.minor,
        "currency": report.amount.currency,
        "status": report.status,
        "metadata": {
            "paymentIntent": report.payment_intent,
            "customerEmail": report.customer_email,
            "userId": report.user_id,
            "userEmail": report.user_email,
        },
        "createdAt": report.created_at,
        "updatedAt": report.updated_at,
        "version": report.version,
    }


def report_from(document: PaymentDocument) -> PaymentStatusReport:
    """Maps a view document back to the report the API answers with."""
    metadata: dict[str, Any] = document.get("metadata") or {}
    return PaymentStatusReport(
        order_id=document["orderId"],
        user_id=metadata.get("userId") or "",
        status=document["status"],
        amount=Money(int(document["amountMinor"]), document["currency"]),
        session_id=document["stripeSessionId"],
        created_at=_as_datetime(document["createdAt"]),
        updated_at=_as_datetime(document["updatedAt"]),
        version=int(document["version"]),
        payment_intent=metadata.get("paymentIntent"),
        customer_email=metadata.get("customerEmail"),
        user_email=metadata.get("userEmail"),
    )


def _as_datetime(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a BSON date, got {type(value).__name__}")
    return value


def ensure_indexes(payments: Collection[PaymentDocument]) -> None:
    """One document per order (the upsert guard relies on it), and the API's lookups."""
    payments.create_index([("orderId", ASCENDING)], unique=True, name="orderId_unique")
    payments.create_index([("metadata.userId", ASCENDING)], name="metadata_userId")
    payments.create_index([("status", ASCENDING)], name="status")
