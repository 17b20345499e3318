"""Which payments have money going back that Stripe has not settled, read from the log.

Reconciliation re-reads from Stripe the refunds still `pending` (or `requires_action`)
and the disputes still open whose webhooks may have been lost. Finding them must not
load every payment: this index takes only the events that report a refund's or a
dispute's status (the store filters by topic), through the service's one log follower,
and keeps a payment while the latest report of any of its refunds or disputes is
unsettled. Before it is listed, such a payment is loaded once (again only after its
next report) and the payment itself says which are unsettled. One small row per
payment with money going back unsettled, kept with the index's position in the event
store's own database (`IndexRows`), so a process start reads only the reports stored
since (ADR 0018).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import msgspec
from eventsourcing.persistence import Notification

from application.index_rows import IndexRow, IndexRows, InMemoryIndexRows
from application.ledger import PaymentLedger, topics_of
from domain.dispute import CLOSED_STATUSES
from domain.payment import Payment
from domain.refund import RefundStatus

AWAITED_REFUND = frozenset({RefundStatus.PENDING, RefundStatus.REQUIRES_ACTION})
"""A refund Stripe has not decided yet; `succeeded` is settled (it may still fail later,
which only Stripe's events can tell within their 30 days)."""

# Each refund report and the field naming Stripe's refund; each dispute report.
REFUND_REPORTS = {
    "RefundReported": "stripe_refund_id",
    "Refunded": "refund_id",
    "StrayPaymentRefunded": "refund_id",
    "ExternalRefundRecorded": "stripe_refund_id",
}
DISPUTE_REPORTS = ("DisputeOpened", "DisputeUpdated", "DisputeClosed")
REFUND_TOPICS = {
    topic: field
    for name, field in REFUND_REPORTS.items()
    for topic in topics_of(Payment.declared_event(name))
}
DISPUTE_TOPICS = frozenset(
    topic for name in DISPUTE_REPORTS for topic in topics_of(Payment.declared_event(name))
)


class Awaited(msgspec.Struct, frozen=True):
    """A refund or dispute of Stripe's (`re_…`, `du_…`) and its status as recorded."""

    stripe_id: str
    status: str


class UnsettledMoneyBack(msgspec.Struct, frozen=True):
    """A payment with refunds Stripe has not decided, or disputes it has not closed."""

    payment_id: UUID
    order_id: str
    session_id: str
    last_news: datetime
    """When the payment last recorded anything: Stripe's silence is measured from it."""
    refunds: tuple[Awaited, ...] = ()
    disputes: tuple[Awaited, ...] = ()


class UnsettledMoneyBackIndex(Protocol):
    """The payments with money going back unsettled, brought up to date from the log on
    each call (may block)."""

    def refresh(self) -> list[UnsettledMoneyBack]: ...


class Reported(msgspec.Struct, frozen=True):
    """What the log says of one payment (its row in the index): its unsettled refunds and
    disputes by Stripe's id, and the payment's own word on them once loaded (None: loaded
    never or before its latest report)."""

    refunds: frozenset[str] = frozenset()
    disputes: frozenset[str] = frozenset()
    confirmed: UnsettledMoneyBack | None = None


class UnsettledMoneyBackPayments:
    """A consumer of the log's refund and dispute reports (`LogConsumer`).

    Its rows and position live where `rows` keeps them: in production the event store's
    own database (ADR 0018), so a process that starts again reads only the reports
    stored after its position; by default a dict, which a new object fills from the start.
    """

    name = "unsettled-money-back"
    topics = (*REFUND_TOPICS, *DISPUTE_TOPICS)

    def __init__(self, ledger: PaymentLedger, rows: IndexRows[Reported] | None = None) -> None:
        self._ledger = ledger
        self._rows: IndexRows[Reported] = rows if rows is not None else InMemoryIndexRows()

    def position(self) -> int:
        return self._rows.position()

    def consume(self, notifications: Sequence[Notification]) -> None:
        self._rows.fold(notifications, self._folded)

    def unsettled(self) -> list[UnsettledMoneyBack]:
        """The listed payments, each loaded once since its latest report (may block)."""
        found: list[UnsettledMoneyBack] = []
        for row in self._rows.rows():
            confirmed = row.value.confirmed
            if confirmed is None:
                confirmed = self._confirm(row)
            if confirmed is not None:
                found.append(confirmed)
        return found

    def _folded(self, known: Reported | None, notification: Notification) -> Reported | None:
        state = vars(self._ledger.mapper.to_domain_event(notification))
        refunds = set(known.refunds) if known is not None else set()
        disputes = set(known.disputes) if known is not None else set()
        if notification.topic in DISPUTE_TOPICS:
            _note(disputes, state["dispute_id"], _open_dispute(state))
        else:
            stripe_id = state[REFUND_TOPICS[notification.topic]]
            _note(refunds, stripe_id, _awaited_refund(state))
        if not (refunds or disputes):
            return None
        return Reported(frozenset(refunds), frozenset(disputes))

    def _confirm(self, row: IndexRow[Reported]) -> UnsettledMoneyBack | None:
        payment = self._ledger.load(row.payment_id)
        found = unsettled_money_back(payment) if payment is not None else None
        if found is None:
            self._rows.replace(row.payment_id, row.version, None)
            return None
        refunds = frozenset(refund.stripe_id for refund in found.refunds)
        disputes = frozenset(dispute.stripe_id for dispute in found.disputes)
        # A report stored meanwhile leaves the row unconfirmed: it is loaded again next time.
        self._rows.replace(row.payment_id, row.version, Reported(refunds, disputes, found))
        return found


def unsettled_money_back(payment: Payment) -> UnsettledMoneyBack | None:
    """The payment's refunds Stripe has not decided and disputes it has not closed."""
    refunds = tuple(
        Awaited(refund.stripe_refund_id, refund.status.value)
        for refund in payment.refunds.values()
        if refund.stripe_refund_id and refund.status in AWAITED_REFUND
    )
    disputes = tuple(
        Awaited(dispute.dispute_id, dispute.status)
        for dispute in payment.disputes.values()
        if not dispute.is_closed
    )
    if not (refunds or disputes):
        return None
    return UnsettledMoneyBack(
        payment.id,
        payment.order_id,
        payment.checkout_session_id,
        payment.modified_on,
        refunds,
        disputes,
    )


def _note(unsettled: set[str], stripe_id: object, still: bool) -> None:
    if not stripe_id:
        return  # an amount no refund of Stripe's names yet: nothing to read back
    if still:
        unsettled.add(str(stripe_id))
    else:
        unsettled.discard(str(stripe_id))


def _awaited_refund(state: dict[str, Any]) -> bool:
    # Events stored before issue 12 carry no status: their refunds were taken as done.
    status = state.get("refund_status", RefundStatus.SUCCEEDED)
    return RefundStatus(status) in AWAITED_REFUND


def _open_dispute(state: dict[str, Any]) -> bool:
    return state["dispute_status"] not in CLOSED_STATUSES
