"""Readings of the MongoDB status view: payments by status, and how far the view lags the log.

Both are asked on scrape, through a client of their own with short timeouts, so a
MongoDB outage costs a scrape two seconds, not the projection or the API anything.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from pymongo import MongoClient
from pymongo.collection import Collection

from application.ledger import PaymentLedger
from domain.lifecycle import PaymentStatus
from infrastructure.mongo.payment_document import DEFAULT_DATABASE, PAYMENTS, TRACKING

TIMEOUT_MS = 2000


class MongoViewReadings:
    """The view's collections for the two sources below; `close()` when the process stops."""

    def __init__(self, mongodb_uri: str, timeout_ms: int = TIMEOUT_MS) -> None:
        self._client: MongoClient[dict[str, Any]] = MongoClient(
            mongodb_uri,
            tz_aware=True,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            socketTimeoutMS=timeout_ms * 2,
        )
        database = self._client.get_default_database(default=DEFAULT_DATABASE)
        self.payments: Collection[dict[str, Any]] = database[PAYMENTS]
        self.tracking: Collection[dict[str, Any]] = database[TRACKING]

    def close(self) -> None:
        self._client.close()


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
            count = self._view.payments.count_documents(
                {"status": status.value}, maxTimeMS=TIMEOUT_MS
            )
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
        stored = self._view.tracking.find_one({"_id": self._ledger.name}, max_time_ms=TIMEOUT_MS)
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
