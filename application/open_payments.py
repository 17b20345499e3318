"""Which payments are still open, kept up to date by reading only the new notifications.

Reconciliation must find payments stuck in INITIATED without loading every
payment each time. This index takes just the events that open or close a
payment (`Initiated`, `Succeeded`, `Failed`; the store filters by topic), and the one that
starts a wait for a delayed method (`AsyncPaymentAwaited`), from
where it stopped last time, through the service's one log follower. One small row
per *open* payment, kept with the index's position in the event store's own
database (`IndexRows`): each notification is read once per store, not once per
process, so a process start (a `serve` taking the leadership, a one-off CLI run)
reads only what was stored since, however large the store has grown (ADR 0018).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from application.index_rows import IndexRows, InMemoryIndexRows
from application.ledger import PaymentLedger, topics_of
from domain.payment import Payment

OPENING = get_topic(Payment.declared_event("Initiated"))
CLOSING = tuple(get_topic(Payment.declared_event(name)) for name in ("Succeeded", "Failed"))
AWAITING = topics_of(Payment.declared_event("AsyncPaymentAwaited"))


class OpenPayment(msgspec.Struct, frozen=True):
    """What reconciliation needs to know about a payment still waiting for Stripe."""

    payment_id: UUID
    order_id: str
    session_id: str
    expires_at: datetime
    awaiting_since: datetime | None = None
    """When the session completed unpaid: a delayed method's result has been awaited since."""


class OpenPayments:
    """The INITIATED payments of the store, as a consumer of the log's opening and closing events.

    Its rows and position live where `rows` keeps them: in production the event store's
    own database (ADR 0018), so a process that starts again reads only the notifications
    stored after its position; by default a dict, which a new object fills from the start.
    """

    name = "open-payments"
    topics = (OPENING, *CLOSING, *AWAITING)

    def __init__(self, ledger: PaymentLedger, rows: IndexRows[OpenPayment] | None = None) -> None:
        self._ledger = ledger
        self._rows: IndexRows[OpenPayment] = rows if rows is not None else InMemoryIndexRows()

    def position(self) -> int:
        return self._rows.position()

    def consume(self, notifications: Sequence[Notification]) -> None:
        self._rows.fold(notifications, self._folded)

    @property
    def open(self) -> list[OpenPayment]:
        return [row.value for row in self._rows.rows()]

    def _folded(self, known: OpenPayment | None, notification: Notification) -> OpenPayment | None:
        if notification.topic == OPENING:
            if known is not None:
                return known
            return _opened(self._ledger.mapper.to_domain_event(notification))
        if notification.topic in CLOSING:
            return None
        if notification.topic in AWAITING and known is not None and known.awaiting_since is None:
            state = vars(self._ledger.mapper.to_domain_event(notification))
            return msgspec.structs.replace(known, awaiting_since=state["timestamp"])
        return known


def _opened(event: object) -> OpenPayment:
    state = vars(event)
    return OpenPayment(
        _uuid(state["originator_id"]),
        state["order_id"],
        state["checkout_session_id"],
        state["expires_at"],
    )


class OpenPaymentsIndex(Protocol):
    """The open payments, brought up to date from the log on each call (may block)."""

    def refresh(self) -> list[OpenPayment]: ...


def _uuid(value: object) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
