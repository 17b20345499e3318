"""The MongoDB status projection as a consumer of the log follower."""

from __future__ import annotations

from collections.abc import Sequence

from eventsourcing.persistence import Notification, Tracking

from application.ledger import PaymentLedger
from infrastructure.mongo.status_projection import PaymentStatusProjection


class StatusViewConsumer:
    """Writes each batch's latest document per order, then the view's position, to MongoDB.

    The position lives in the view's own database, after the documents (ADR 0011):
    a batch read again after a crash is refused by the version guard.
    """

    name = "status-view"

    def __init__(self, ledger: PaymentLedger, projection: PaymentStatusProjection) -> None:
        self._ledger = ledger
        self._projection = projection
        self._indexed = False

    @property
    def projection(self) -> PaymentStatusProjection:
        return self._projection

    def position(self) -> int:
        if not self._indexed:
            # The guard relies on the unique index; creating it here, not at start-up,
            # lets the service start while MongoDB is still down.
            self._projection.view.ensure_indexes()
            self._indexed = True
        return self._projection.view.max_tracking_id(self._ledger.name) or 0

    def consume(self, notifications: Sequence[Notification]) -> None:
        self._projection.process_batch(
            [
                (self._ledger.mapper.to_domain_event(n), Tracking(self._ledger.name, n.id))
                for n in notifications
            ]
        )
