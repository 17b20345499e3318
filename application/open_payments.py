"""Which payments are still open, kept up to date by reading only the new notifications.

Reconciliation must find payments stuck in INITIATED without loading every
payment each time. This index takes just the events that open or close a
payment (`Initiated`, `Succeeded`, `Failed`; the store filters by topic), and the one that
starts a wait for a delayed method (`AsyncPaymentAwaited`), from
where it stopped last time, through the service's one log follower. Memory: one
small entry per *open* payment; a long-running worker reads each notification
once, a one-off CLI run reads the opening and closing events of the whole store once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

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

    Its position lives in memory: a process reads each notification once, and a
    restart reads the opening and closing events again.
    """

    name = "open-payments"
    topics = (OPENING, *CLOSING, *AWAITING)

    def __init__(self, ledger: PaymentLedger) -> None:
        self._ledger = ledger
        self._open: dict[UUID, OpenPayment] = {}
        self._position = 0

    def position(self) -> int:
        return self._position

    def consume(self, notifications: Sequence[Notification]) -> None:
        for notification in notifications:
            if notification.topic == OPENING:
                self._opened(self._ledger.mapper.to_domain_event(notification))
            elif notification.topic in CLOSING:
                self._open.pop(_uuid(notification.originator_id), None)
            elif notification.topic in AWAITING:
                self._awaiting(self._ledger.mapper.to_domain_event(notification))
        self._position = notifications[-1].id

    @property
    def open(self) -> list[OpenPayment]:
        return list(self._open.values())

    def _opened(self, event: object) -> None:
        state = vars(event)
        payment_id = _uuid(state["originator_id"])
        self._open[payment_id] = OpenPayment(
            payment_id, state["order_id"], state["checkout_session_id"], state["expires_at"]
        )

    def _awaiting(self, event: object) -> None:
        state = vars(event)
        payment_id = _uuid(state["originator_id"])
        known = self._open.get(payment_id)
        if known is not None and known.awaiting_since is None:
            self._open[payment_id] = msgspec.structs.replace(
                known, awaiting_since=state["timestamp"]
            )


class OpenPaymentsIndex(Protocol):
    """The open payments, brought up to date from the log on each call (may block)."""

    def refresh(self) -> list[OpenPayment]: ...


def _uuid(value: object) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
