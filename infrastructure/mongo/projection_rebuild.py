"""Projecting what the event store holds beyond the view's position, in the foreground.

`catch_up` continues from the stored position; `rebuild` (the `payments projections
rebuild` command) projects the whole store into a fresh collection and swaps it in,
while the live projection goes on. Both read through the log follower.
"""

from __future__ import annotations

import time

import msgspec

from application.ledger import PaymentLedger
from infrastructure.event_store.log_follower import LogFollower, Progress
from infrastructure.mongo.payment_view import MongoPaymentView
from infrastructure.mongo.projection_consumer import StatusViewConsumer
from infrastructure.mongo.status_projection import PaymentStatusProjection


class ProjectionSummary(msgspec.Struct, frozen=True):
    """What a run did: events read, documents written, how long it took."""

    events: int
    documents_written: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float(self.events)


def catch_up(
    ledger: PaymentLedger,
    projection: PaymentStatusProjection,
    on_progress: Progress | None = None,
) -> ProjectionSummary:
    """Projects every event after the view's position, in order, until there are no more.

    `on_progress` gets the notification id reached after each batch.
    """
    started = time.perf_counter()
    written_before = projection.view.applied
    events = LogFollower(ledger, StatusViewConsumer(ledger, projection)).catch_up(on_progress)
    seconds = time.perf_counter() - started
    return ProjectionSummary(events, projection.view.applied - written_before, seconds)


def rebuild(
    ledger: PaymentLedger,
    projection: PaymentStatusProjection,
    on_progress: Progress | None = None,
) -> ProjectionSummary:
    """Projects the whole store into a fresh collection, then swaps it in for `projection`'s view.

    The live view keeps serving, and the live projection keeps writing it, until one
    atomic rename replaces it; the live projection then continues from the rebuilt
    view's position (see `MongoPaymentView.swap_in`). A failed rebuild leaves the live
    view as it was and drops its own collection.
    """
    fresh = MongoPaymentView.fresh(projection.view.database)
    try:
        summary = catch_up(ledger, PaymentStatusProjection(fresh, ledger), on_progress)
        fresh.swap_in(ledger.name)
    except BaseException:
        fresh.discard(ledger.name)
        raise
    return summary
