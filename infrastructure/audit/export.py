"""Exports the history as one row per event (JSON lines or CSV), streaming.

Memory stays bounded on any store size: notifications are read a page at a
time, and the running state needed for "status after the event" is kept for at
most `STATE_CACHE_SIZE` payments (least recently used first out). A payment
evicted and met again is reloaded from the store up to the previous version,
which costs a query but gives the same answer, because payments are replayed
by the domain's own event handlers rather than by a second copy of its rules.
At the default size the cache holds roughly 30 MB whatever the store size.

Money columns come in pairs, as `amount` does: major units as a decimal string
(`50.00`, in the row's `currency`) and the exact minor units (`…Minor`). The refund
and dispute columns (ADR 0013) are read from the payment as it stood after the event:
`refundedAmount`, `refundable` and `disputeLostAmount` on every row; the refund a
refund event is about (`refundId` is the service's name for it: the operator's refund
id, `owed`, `stray:{session}` or `external:{Stripe's id}`; `stripeRefundId` Stripe's);
the dispute a dispute event is about, else the payment's latest.
"""

from __future__ import annotations

import csv
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TextIO, cast
from uuid import UUID

import msgspec
from eventsourcing.domain import EventSourcingError

from application.ledger import PaymentLedger
from domain.dispute import Dispute
from domain.money import Money
from domain.payment import Payment
from domain.refund import Refund
from infrastructure.audit.stored_events import StoredPaymentEvent, stored_payment_events

STATE_CACHE_SIZE = 10_000
FORMATS = ("jsonl", "csv")


class ExportRow(msgspec.Struct, rename="camel"):
    """One event of the history, flattened for spreadsheets and scripts."""

    notification_id: int
    order_id: str
    payment_id: str
    version: int
    type: str
    recorded_at: str
    amount: str
    amount_minor: int | None
    currency: str
    status_after: str
    stripe_event_id: str
    payment_intent: str
    session_id: str
    refund_id: str
    chain_hash: str
    refunded_amount: str
    refunded_amount_minor: int | None
    refundable: str
    refundable_minor: int | None
    stripe_refund_id: str
    refund_status: str
    refund_amount: str
    refund_amount_minor: int | None
    dispute_id: str
    dispute_status: str
    dispute_amount: str
    dispute_amount_minor: int | None
    dispute_lost_amount: str
    dispute_lost_amount_minor: int | None


COLUMNS = [field.encode_name for field in msgspec.structs.fields(ExportRow)]


class RunningPayments:
    """The latest replayed state of recently seen payments, bounded in size."""

    def __init__(self, ledger: PaymentLedger, size: int = STATE_CACHE_SIZE) -> None:
        self._ledger = ledger
        self._size = size
        self._payments: OrderedDict[UUID, Payment] = OrderedDict()

    def after(self, stored: StoredPaymentEvent) -> Payment | None:
        """The payment once `stored` is applied, or None if it cannot be replayed."""
        payment = self._payments.pop(stored.payment_id, None)
        if payment is None and stored.version > 1:
            payment = self._ledger.load(stored.payment_id, version=stored.version - 1)
        try:
            event = cast(Payment.Event, stored.event)
            payment = event.mutate(payment) if event is not None else None
        except (EventSourcingError, AssertionError, AttributeError, TypeError, ValueError):
            payment = None  # a broken store: `payments audit verify` says where
        if isinstance(payment, Payment):
            self._payments[stored.payment_id] = payment
            if len(self._payments) > self._size:
                self._payments.popitem(last=False)
            return payment
        return None


def export_rows(
    ledger: PaymentLedger,
    since: datetime | None = None,
    until: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[ExportRow]:
    """Every event recorded in [since, until], in notification order."""
    running = RunningPayments(ledger)
    for stored in stored_payment_events(ledger, stop=ledger.last_notification_id()):
        payment = running.after(stored)
        if progress is not None:
            progress(stored.notification_id)
        timestamp = stored.state.get("timestamp")
        if isinstance(timestamp, datetime) and (
            (since is not None and timestamp < since) or (until is not None and timestamp > until)
        ):
            continue
        yield row_of(stored, payment)


def row_of(stored: StoredPaymentEvent, payment: Payment | None) -> ExportRow:
    state = stored.state
    amount = _amount_in(state)
    timestamp = state.get("timestamp")
    refund = _refund_in(payment, state)
    dispute = _dispute_in(payment, state)
    refunded = payment.refunded_amount if payment is not None else None
    refundable = payment.refundable if payment is not None else None
    lost = _lost_in_disputes(payment) if payment is not None else None
    return ExportRow(
        notification_id=stored.notification_id,
        order_id=payment.order_id if payment is not None else "",
        payment_id=str(stored.payment_id),
        version=stored.version,
        # A topic the service never writes is shown whole, so the row stands out.
        type=stored.topic if stored.foreign_topic else stored.topic.rsplit(".", 1)[-1],
        recorded_at=timestamp.isoformat() if isinstance(timestamp, datetime) else "",
        amount=str(amount.to_major()) if amount else "",
        amount_minor=amount.minor if amount else None,
        currency=payment.amount.currency if payment is not None else "",
        status_after=payment.status.value if payment is not None else "UNREADABLE",
        stripe_event_id=str(state.get("stripe_event_id", "")),
        payment_intent=str(state.get("payment_intent", "")),
        session_id=payment.checkout_session_id if payment is not None else "",
        refund_id=refund.refund_id if refund else str(state.get("refund_id", "")),
        chain_hash=str(state.get("chain_hash", "")),
        refunded_amount=_major(refunded),
        refunded_amount_minor=_minor(refunded),
        refundable=_major(refundable),
        refundable_minor=_minor(refundable),
        stripe_refund_id=(refund.stripe_refund_id or "") if refund else "",
        refund_status=refund.status.value if refund else "",
        refund_amount=_major(refund.amount if refund else None),
        refund_amount_minor=_minor(refund.amount if refund else None),
        dispute_id=dispute.dispute_id if dispute else "",
        dispute_status=dispute.status if dispute else "",
        dispute_amount=_major(dispute.amount if dispute else None),
        dispute_amount_minor=_minor(dispute.amount if dispute else None),
        dispute_lost_amount=_major(lost),
        dispute_lost_amount_minor=_minor(lost),
    )


def _major(money: Money | None) -> str:
    return str(money.to_major()) if money is not None else ""


def _minor(money: Money | None) -> int | None:
    return money.minor if money is not None else None


def _refund_in(payment: Payment | None, state: dict[str, Any]) -> Refund | None:
    """The refund a refund event is about, as it stood after it: found by the key the event
    names, or by Stripe's id (the service's own and stray refunds are recorded by it)."""
    named = state.get("refund_id")
    if payment is None or not isinstance(named, str) or not named:
        return None
    refund = payment.refund(named)
    if refund is None:
        refund = next((r for r in payment.refunds.values() if r.stripe_refund_id == named), None)
    return refund


def _dispute_in(payment: Payment | None, state: dict[str, Any]) -> Dispute | None:
    """The dispute a dispute event is about; on any other row, the payment's latest."""
    if payment is None:
        return None
    named = state.get("dispute_id")
    known = payment.disputes.get(named) if isinstance(named, str) else None
    return known or payment.dispute


def _lost_in_disputes(payment: Payment) -> Money:
    """What lost disputes took back: part of `refundedAmount`, said apart."""
    currency = (payment.received or payment.amount).currency
    return Money(sum(d.amount.minor for d in payment.disputes.values() if d.is_lost), currency)


def _amount_in(state: dict[str, Any]) -> Money | None:
    """The money an event is about: charged, received, to refund or refunded."""
    for name in ("amount", "amount_received"):
        value = state.get(name)
        if isinstance(value, Money):
            return value
    return None


def write_rows(rows: Iterator[ExportRow], out: TextIO, format: str) -> int:
    """Writes rows as they come; returns how many were written."""
    count = 0
    if format == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(["" if v is None else v for v in msgspec.structs.astuple(row)])
            count += 1
        return count
    encoder = msgspec.json.Encoder()
    for row in rows:
        out.write(encoder.encode(row).decode())
        out.write("\n")
        count += 1
    return count
