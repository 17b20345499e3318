"""Projecting what the event store holds beyond the view's position, in the foreground.

`rebuild` (the `payments projections rebuild` command) drops the view first;
`catch_up` continues from the stored position.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec
from eventsourcing.persistence import Tracking

from application.ledger import PaymentLedger
from infrastructure.mongo.status_projection import PaymentStatusProjection

BATCH_SIZE = 500
Progress = Callable[[int], None]


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
    view = projection.view
    started = time.perf_counter()
    written_before = view.applied
    events = 0
    position = view.max_tracking_id(ledger.name)
    while True:
        batch = ledger.recorder.select_notifications(
            start=position, limit=BATCH_SIZE, inclusive_of_start=False
        )
        if not batch:
            break
        projection.process_batch(
            [(ledger.mapper.to_domain_event(n), Tracking(ledger.name, n.id)) for n in batch]
        )
        position = batch[-1].id
        events += len(batch)
        if on_progress is not None and position is not None:
            on_progress(position)
    seconds = time.perf_counter() - started
    return ProjectionSummary(events, view.applied - written_before, seconds)


def rebuild(
    ledger: PaymentLedger,
    projection: PaymentStatusProjection,
    on_progress: Progress | None = None,
) -> ProjectionSummary:
    """Drops the view and its position, then projects the whole event store."""
    projection.view.drop()
    return catch_up(ledger, projection, on_progress)
