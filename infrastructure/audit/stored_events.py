"""Reads every stored event of the payments table in notification order, one page at a time.

Constant memory whatever the size of the store: only one page of notifications
is held at once. Events the mapper cannot decode are still yielded (with the
error), because an auditor must hear about them rather than have them skipped.
So are events stored under a topic that is not one of the payment's own event
classes' (`PAYMENT_TOPICS`), undecoded: a topic such as
`application.ledger:Payment.Succeeded` resolves to the same class, so the store
replays it, and only its topic tells it was not written by the service. A topic an
older version wrote for a class since renamed (`FORMER_TOPICS`) is the class's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.utils import TopicError, get_topic

from application.ledger import FORMER_TOPICS, PaymentLedger
from domain.payment import Payment

PAGE_SIZE = 500
PAYMENT_TOPICS = (
    frozenset(
        get_topic(member)
        for member in vars(Payment).values()
        if isinstance(member, type) and issubclass(member, Payment.Event)
    )
    - {get_topic(Payment.Event)}
) | FORMER_TOPICS.keys()
"""The topics the service writes, each Payment event class's own as `get_topic` names it,
and those older versions wrote for classes since renamed."""


@dataclass(frozen=True, slots=True)
class StoredPaymentEvent:
    """One notification of the store, decoded if it could be."""

    notification_id: int
    payment_id: UUID
    version: int
    topic: str
    event: DomainEventProtocol[UUID] | None
    error: str = ""

    @property
    def foreign_topic(self) -> bool:
        """Stored under a topic the service never writes (forged, or written by hand)."""
        return self.topic not in PAYMENT_TOPICS

    @property
    def recorded_as(self) -> str:
        """The event type as stored: the qualified name in its topic (`Payment.Succeeded`),
        which the chain hashed when it was recorded, whatever the class is called now."""
        return self.topic.partition(":")[2]

    @property
    def state(self) -> dict[str, object]:
        return vars(self.event) if self.event is not None else {}


def stored_payment_events(
    ledger: PaymentLedger, start: int = 1, stop: int | None = None, page_size: int = PAGE_SIZE
) -> Iterator[StoredPaymentEvent]:
    """Yields every stored event from notification `start` up to `stop` (inclusive)."""
    position = start
    while True:
        page = ledger.recorder.select_notifications(position, page_size, stop=stop)
        if not page:
            return
        for notification in page:
            yield decoded(ledger, notification)
        position = page[-1].id + 1


def decoded(ledger: PaymentLedger, notification: Notification) -> StoredPaymentEvent:
    """A notification as a stored payment event, decoded if it can be."""
    payment_id = notification.originator_id
    if not isinstance(payment_id, UUID):
        payment_id = UUID(str(payment_id))
    event: DomainEventProtocol[UUID] | None = None
    error = ""
    try:
        event = _payment_event(ledger, notification)
    except (TopicError, ValueError, KeyError, TypeError) as failure:
        # MapperDeserialisationError is a ValueError; a tampered topic is a TopicError.
        error = f"{type(failure).__name__}: {failure}"
    return StoredPaymentEvent(
        notification_id=notification.id,
        payment_id=payment_id,
        version=notification.originator_version,
        topic=notification.topic,
        event=event,
        error=error,
    )


def order_id_of(ledger: PaymentLedger, payment_id: UUID) -> str:
    """The order of a payment, read from its first event; `?` if that cannot be read."""
    for stored in ledger.recorder.select_events(payment_id, lte=1, limit=1):
        try:
            first = _payment_event(ledger, stored)
        except (TopicError, ValueError, KeyError, TypeError):
            return "?"
        return str(vars(first).get("order_id", "?"))
    return "?"


def _payment_event(ledger: PaymentLedger, stored: StoredEvent) -> DomainEventProtocol[UUID]:
    """Decodes a Payment event; any other topic is refused before the mapper imports
    whatever module it names."""
    if stored.topic not in PAYMENT_TOPICS:
        raise TopicError(f"topic {stored.topic!r} is not one of the payment's event topics")
    return ledger.mapper.to_domain_event(stored)
