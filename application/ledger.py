"""The event-sourced store of payments: eventsourcing's Application for `Payment`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic, register_topic

from domain.payment import Payment, payment_id_for

SaveListener = Callable[[int], None]

FORMER_TOPICS: Mapping[str, type[Payment.Event]] = {
    # Named for the state it waits in until issue 16; in the past tense since (ADR 0016).
    "domain.payment:Payment.AsyncPaymentPending": Payment.declared_event("AsyncPaymentAwaited"),
}
"""Topics older versions stored events under, and the event class each one is now."""


def topics_of(event_class: type[Payment.Event]) -> tuple[str, ...]:
    """Every topic an event of `event_class` may be stored under: its own, then former ones."""
    former = (topic for topic, renamed in FORMER_TOPICS.items() if renamed is event_class)
    return (get_topic(event_class), *former)


class PaymentLedger(Application[UUID]):
    """Loads and saves Payment aggregates; tells listeners what it wrote.

    Listeners (the projection and the processor) are woken with the highest
    notification id of each save, so they need not wait for their next poll.
    """

    name = "Payments"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self._listeners: list[SaveListener] = []
        for topic, event_class in FORMER_TOPICS.items():
            register_topic(topic, event_class)  # events stored under it replay as that class
        try:
            super().__init__(env)
        except Exception:
            # A store that failed to open must not keep its connection pool open.
            factory = getattr(self, "factory", None)
            if factory is not None:
                factory.close()
            raise

    def add_listener(self, listener: SaveListener) -> None:
        if listener not in self._listeners:
            self._listeners.append(listener)

    def remove_listener(self, listener: SaveListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def find(self, order_id: str) -> Payment | None:
        return self.load(payment_id_for(order_id))

    def load(self, payment_id: UUID, version: int | None = None) -> Payment | None:
        try:
            payment: Payment = self.repository.get(payment_id, version=version)
        except AggregateNotFoundError:
            return None
        return payment

    def record(self, payment: Payment) -> int | None:
        """Saves new events; raises `PaymentConflict` if someone saved first."""
        try:
            recordings = self.save(payment)
        except IntegrityError as error:
            raise PaymentConflict(str(payment.id)) from error
        last = max((r.notification.id for r in recordings), default=None)
        if last is not None:
            for listener in self._listeners:
                listener(last)
        return last

    def history(self, payment_id: UUID) -> Iterator[DomainEventProtocol[UUID]]:
        return iter(self.events.get(payment_id))

    def last_notification_id(self) -> int:
        return int(self.recorder.max_notification_id() or 0)

    def __enter__(self) -> PaymentLedger:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class PaymentConflict(Exception):
    """Another writer saved this payment first (optimistic concurrency)."""
