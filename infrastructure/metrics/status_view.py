"""Readings of the MongoDB status view: payments by status, and how far the view lags the log.

Both are asked on scrape, through the process's client with a short timeout of their
own, so a MongoDB outage costs a scrape two seconds, not the projection or the API anything.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import pymongo
from prometheus_client.core import GaugeMetricFamily, Metric
from pymongo.collection import Collection
from pymongo.database import Database

from application.ledger import PaymentLedger
from domain.lifecycle import PaymentStatus
from infrastructure.mongo.payment_document import PAYMENTS, TRACKING

TIMEOUT_MS = 2000


class MongoViewReadings:
    """The view's collections for the two sources below, each read bounded by `timeout()`."""

    def __init__(self, database: Database[dict[str, Any]], timeout_ms: int = TIMEOUT_MS) -> None:
        self.payments: Collection[dict[str, Any]] = database[PAYMENTS]
        self.tracking: Collection[dict[str, Any]] = database[TRACKING]
        self._timeout_seconds = timeout_ms / 1000

    def timeout(self) -> AbstractContextManager[None]:
        """Bounds the MongoDB calls inside it, server selection included."""
        return pymongo.timeout(self._timeout_seconds)


class PaymentsByStatusSource:
    """`payments_by_status{status}`: one count per status over the view's `status` index.

    A count walks the index entries of its status, so a scrape costs O(payments)
    index keys in MongoDB (about a second per few million); hence the long `ttl` and
    the per-count time limit. Past tens of millions of payments, keep the counts in
    the view itself (the projection adding and subtracting as statuses change).
    """

    name = "payments_by_status"

    def __init__(self, view: MongoViewReadings, ttl: float = 60.0) -> None:
        self._view = view
        self.ttl = ttl

    def read(self) -> list[Metric]:
        family = GaugeMetricFamily(
            "payments_by_status",
            "Payments by status, from the MongoDB status view (as fresh as the projection)",
            labels=["status"],
        )
        for status in PaymentStatus:
            with self._view.timeout():
                count = self._view.payments.count_documents({"status": status.value})
            family.add_metric([status.value], count)
        return [family]


class ProjectionLagSource:
    """`payments_projection_lag_events` and `payments_projection_lag_seconds`.

    Events: the log's last notification id minus the view's stored position (ids
    may skip a number where an insert was rolled back, so it can over-count by a
    few). Seconds: the age of the oldest event the view has not applied yet; 0 when
    it is caught up. Both are the view's, whichever process runs the projection.
    """

    name = "projection"

    def __init__(self, ledger: PaymentLedger, view: MongoViewReadings, ttl: float = 5.0) -> None:
        self._ledger = ledger
        self._view = view
        self.ttl = ttl

    def read(self) -> list[Metric]:
        recorder = self._ledger.recorder
        head = recorder.max_notification_id() or 0
        with self._view.timeout():
            stored = self._view.tracking.find_one({"_id": self._ledger.name})
        position = int(stored["notificationId"]) if stored else 0
        behind = max(0, head - position)
        seconds = 0.0
        if behind:
            oldest = recorder.select_notifications(position, 1, inclusive_of_start=False)
            if oldest:
                event = self._ledger.mapper.to_domain_event(oldest[0])
                recorded_at: datetime = getattr(event, "timestamp")  # noqa: B009 - not in the Protocol
                seconds = max(0.0, time.time() - recorded_at.timestamp())
        return [
            GaugeMetricFamily(
                "payments_projection_lag_events",
                "Events recorded but not yet in the MongoDB status view",
                value=behind,
            ),
            GaugeMetricFamily(
                "payments_projection_lag_seconds",
                "Age of the oldest event not yet in the MongoDB status view (0 when caught up)",
                value=seconds,
            ),
        ]
