"""Projecting what the event store holds beyond the view's position, in the foreground.

`rebuild` (the `payments projections rebuild` command) drops the view first;
`catch_up` continues from the stored position. Both read through the log follower.
"""

from __future__ import annotations

import time

import msgspec

from application.ledger import PaymentLedger
from infrastructure.event_store.log_follower import LogFollower, Progress
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
    """Drops the view and its position, then projects the whole event store."""
    projection.view.drop()
    return catch_up(ledger, projection, on_progress)
