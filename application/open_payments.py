"""Which payments are still open, kept up to date by reading only the new notifications.

Reconciliation must find payments stuck in INITIATED without loading every
payment each time. This index reads just the events that open or close a
payment (`Initiated`, `Succeeded`, `Failed`; the store filters by topic), from
where it stopped last time. Memory: one small entry per *open* payment; a
long-running worker reads each notification once, a one-off CLI run reads the
opening and closing events of the whole store once.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec
from eventsourcing.utils import get_topic

from application.ledger import PaymentLedger
from domain.payment import Payment

PAGE_SIZE = 500
OPENING = get_topic(Payment.Initiated)
CLOSING = (get_topic(Payment.Succeeded), get_topic(Payment.Failed))


class OpenPayment(msgspec.Struct, frozen=True):
    """What reconciliation needs to know about a payment still waiting for Stripe."""

    payment_id: UUID
    order_id: str
    session_id: str
    expires_at: datetime


class OpenPayments:
    """The INITIATED payments of the store, as of the last `refresh`."""

    def __init__(self, ledger: PaymentLedger) -> None:
        self._ledger = ledger
        self._open: dict[UUID, OpenPayment] = {}
        self._position = 0

    def refresh(self) -> list[OpenPayment]:
        """Reads notifications recorded since the last call; returns the open payments."""
        topics = (OPENING, *CLOSING)
        while True:
            page = self._ledger.recorder.select_notifications(
                self._position, PAGE_SIZE, topics=topics, inclusive_of_start=False
            )
            if not page:
                break
            for notification in page:
                if notification.topic == OPENING:
                    self._opened(self._ledger.mapper.to_domain_event(notification))
                else:
                    self._open.pop(_uuid(notification.originator_id), None)
            self._position = page[-1].id
        return list(self._open.values())

    def _opened(self, event: object) -> None:
        state = vars(event)
        payment_id = _uuid(state["originator_id"])
        self._open[payment_id] = OpenPayment(
            payment_id, state["order_id"], state["checkout_session_id"], state["expires_at"]
        )


def _uuid(value: object) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
