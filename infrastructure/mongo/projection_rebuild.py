"""Projecting what the event store holds beyond the view's position, in the foreground.

`catch_up` continues from the stored position, through the log follower; `rebuild`
(the `payments projections rebuild` command) projects the whole store into a fresh
collection and swaps it in, while the live projection goes on. A rebuild reads the
store a payment at a time (`events_by_payment`) and inserts each payment's last state
once, so it needs no cache of payments, never loads one again, and writes one
document per payment; what is recorded meanwhile is then caught up through the follower.
"""

from __future__ import annotations

import time

import msgspec
from eventsourcing.persistence import Tracking

from application.ledger import PaymentLedger
from application.status import report_of
from infrastructure.event_store.events_by_payment import events_by_payment
from infrastructure.event_store.log_follower import LogFollower, Progress
from infrastructure.mongo.payment_document import PaymentDocument, document_of
from infrastructure.mongo.payment_view import MongoPaymentView
from infrastructure.mongo.projection_consumer import StatusViewConsumer
from infrastructure.mongo.status_projection import PaymentStatusProjection, replayed

INSERT_BATCH = 500


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
    until: int | None = None,
) -> ProjectionSummary:
    """Projects every event after the view's position, in order, until there are no more
    (or, with `until`, until that notification id is reached).

    `on_progress` gets the notification id reached after each batch.
    """
    started = time.perf_counter()
    written_before = projection.view.applied
    follower = LogFollower(ledger, StatusViewConsumer(ledger, projection))
    events = follower.catch_up(on_progress, until)
    seconds = time.perf_counter() - started
    return ProjectionSummary(events, projection.view.applied - written_before, seconds)


def rebuild(
    ledger: PaymentLedger,
    projection: PaymentStatusProjection,
    on_progress: Progress | None = None,
) -> ProjectionSummary:
    """Projects the whole store into a fresh collection, then swaps it in for `projection`'s view.

    The live view keeps serving, and the live projection keeps writing it, until one
    atomic rename replaces it between two of the live projection's batches; the live
    projection then continues from the rebuilt view's position (see
    `MongoPaymentView.swap_in`). A failed rebuild leaves the live view as it was and
    drops its own collection. `on_progress` gets the number of events read so far
    (about the notification id reached).
    """
    fresh = MongoPaymentView.fresh(projection.view.database)
    try:
        started = time.perf_counter()
        stop = ledger.last_notification_id()
        events = _insert_by_payment(ledger, fresh, stop, on_progress)
        fresh.max_tracking_id(ledger.name)
        fresh.insert_tracking(Tracking(ledger.name, stop))
        # Up to where the log is now, not until it stops growing: a service recording
        # faster than this reads would keep the rebuild from ever swapping. What comes
        # after is the live projection's, which resumes from the rebuilt view's position.
        until = ledger.last_notification_id()
        rest = catch_up(ledger, PaymentStatusProjection(fresh, ledger), on_progress, until)
        fresh.swap_in(ledger.name, projection.swap_lock)
    except BaseException:
        fresh.discard(ledger.name)
        raise
    seconds = time.perf_counter() - started
    return ProjectionSummary(events + rest.events, fresh.applied, seconds)


def _insert_by_payment(
    ledger: PaymentLedger, fresh: MongoPaymentView, stop: int, on_progress: Progress | None
) -> int:
    """Every payment's state at notification `stop`, one document each; returns events read."""
    events = 0
    documents: list[PaymentDocument] = []
    for notifications in events_by_payment(ledger, stop=stop):
        events += len(notifications)
        payment = replayed(ledger, notifications)
        if payment is not None:
            documents.append(document_of(report_of(payment)))
        if len(documents) >= INSERT_BATCH:
            fresh.insert_payments(documents)
            documents = []
            if on_progress is not None:
                on_progress(events)
    fresh.insert_payments(documents)
    return events
