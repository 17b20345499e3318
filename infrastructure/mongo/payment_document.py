"""The `payments` document of the MongoDB status view: the seed's Payment Model shape.

One document per order. `amount` is in major units as the seed stored it (a
number, for display); `amountMinor` is the exact amount; `version` is the
Payment aggregate version the document reflects, the guard of every update.
BSON dates keep milliseconds, so `createdAt`/`updatedAt` lose sub-millisecond digits.
`refundedAmountMinor` and `dispute` came with issue 12, `refundOwedMinor` after them:
a document without it cannot say whether money is owed back, so unless its payment
cannot owe any (INITIATED: nothing arrived; REFUNDED: all of it went back) it is not
read, and the event store answers instead until the projection writes the payment again
(`payments projections rebuild` rewrites them all). `refundCurrency` came last: the
currency those figures (and the dispute's amount) are in, the money received, which is
`currency` unless money came in another one; such a payment is FAILED, or REFUNDED once
its refund succeeded, so a FAILED or REFUNDED document without it is not read either
(a REFUNDED one written before issue 12, without `refundedAmountMinor`, with it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.collection import Collection

from application.ports import DisputeReport, PaymentStatusReport
from domain.lifecycle import PaymentStatus
from domain.money import Money

PAYMENTS = "payments"
TRACKING = "projection_tracking"
DEFAULT_DATABASE = "paymentdb"

PaymentDocument = dict[str, Any]
CANNOT_OWE = frozenset({PaymentStatus.INITIATED, PaymentStatus.REFUNDED})
"""Statuses whose payment owes nothing back: no money arrived, or all of it went back."""
MAY_DIFFER = frozenset({PaymentStatus.FAILED, PaymentStatus.REFUNDED})
"""Statuses of a payment whose money may have come in another currency than the order's."""


def document_of(report: PaymentStatusReport) -> PaymentDocument:
    """The view document of a payment's state (without `_id`)."""
    return {
        "orderId": report.order_id,
        "stripeSessionId": report.session_id,
        "amount": float(report.amount.to_major()),
        "amountMinor": report.amount.minor,
        "currency": report.amount.currency,
        "status": report.status,
        "refundedAmountMinor": report.refunded_amount.minor if report.refunded_amount else 0,
        "dispute": _dispute_document(report.dispute),
        "refundOwedMinor": report.refund_owed.minor if report.refund_owed else 0,
        "refundCurrency": report.refund_currency or report.amount.currency,
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
    refund_currency = document.get("refundCurrency") or document["currency"]
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
        refunded_amount=_minor_or_none(document.get("refundedAmountMinor"), refund_currency),
        dispute=_dispute_from(document.get("dispute"), refund_currency),
        refund_owed=_minor_or_none(document.get("refundOwedMinor"), refund_currency),
        refund_currency=refund_currency,
    )


def written_before_money_back(document: PaymentDocument) -> bool:
    """Written before it could say what its payment owes back, or in which currency: it
    cannot answer for that payment (`GetPaymentStatus` then reads the event store)."""
    status = document["status"]
    before_owed = "refundOwedMinor" not in document and status not in CANNOT_OWE
    before_currency = "refundCurrency" not in document and status in MAY_DIFFER
    return before_owed or before_currency


def _minor_or_none(minor: Any, currency: str) -> Money | None:
    return Money(int(minor), currency) if minor else None


def _dispute_document(dispute: DisputeReport | None) -> PaymentDocument | None:
    if dispute is None:
        return None
    return {
        "status": dispute.status,
        "amountMinor": dispute.amount.minor,
        "reason": dispute.reason,
    }


def _dispute_from(document: Any, currency: str) -> DisputeReport | None:
    if not isinstance(document, dict):
        return None
    amount = Money(int(document["amountMinor"]), currency)
    return DisputeReport(str(document["status"]), amount, str(document.get("reason") or ""))


def _as_datetime(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a BSON date, got {type(value).__name__}")
    return value


def ensure_indexes(payments: Collection[PaymentDocument]) -> None:
    """One document per order (the upsert guard relies on it), and the API's lookups."""
    payments.create_index([("orderId", ASCENDING)], unique=True, name="orderId_unique")
    payments.create_index([("metadata.userId", ASCENDING)], name="metadata_userId")
    payments.create_index([("status", ASCENDING)], name="status")
