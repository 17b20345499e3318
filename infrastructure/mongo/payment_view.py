"""The materialised status view on MongoDB, as an eventsourcing `TrackingRecorder`.

No multi-document transactions (a standalone mongod has none): each payment
document is written by one version-guarded upsert, and the tracking position
afterwards by a monotonic `$max`. See ADR 0011 for why that is enough.
"""

from __future__ import annotations

import threading

from eventsourcing.persistence import Tracking, TrackingRecorder
from pymongo import UpdateOne
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from infrastructure.mongo.payment_document import (
    PAYMENTS,
    TRACKING,
    PaymentDocument,
    ensure_indexes,
)

DUPLICATE_KEY = 11000


class MongoPaymentView(TrackingRecorder):
    """Payment documents plus the projection's position, in one MongoDB database.

    `applied` and `stale` count this instance's document writes that changed the
    view and those the version guard turned into no-ops (replays, reordering).
    """

    def __init__(self, database: Database[PaymentDocument]) -> None:
        self._database = database
        self._payments: Collection[PaymentDocument] = database[PAYMENTS]
        self._tracking: Collection[PaymentDocument] = database[TRACKING]
        self._counts_lock = threading.Lock()
        self.applied = 0
        self.stale = 0

    def ensure_indexes(self) -> None:
        ensure_indexes(self._payments)

    def drop(self) -> None:
        """Forgets the view and its position, so the next run rebuilds it from the start."""
        self._database.drop_collection(PAYMENTS)
        self._database.drop_collection(TRACKING)
        ensure_indexes(self._payments)

    def save_payment(self, document: PaymentDocument) -> bool:
        """Writes `document` unless the view already holds its version or a newer one.

        The filter matches only an older version; if none matches, the upsert tries
        to insert and the unique `orderId` index refuses it when a document with an
        equal or newer version exists, which is the "already applied" answer.
        """
        try:
            self._payments.update_one(_guard(document), {"$set": document}, upsert=True)
        except DuplicateKeyError:
            self._count(applied=False)
            return False
        self._count(applied=True)
        return True

    def save_payments(self, documents: list[PaymentDocument]) -> None:
        """`save_payment` for many documents in one round trip (rebuilds and catch-ups)."""
        if not documents:
            return
        writes = [
            UpdateOne(_guard(document), {"$set": document}, upsert=True) for document in documents
        ]
        try:
            self._payments.bulk_write(writes, ordered=False)
        except BulkWriteError as error:
            errors = error.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            with self._counts_lock:
                self.applied += len(documents) - len(errors)
                self.stale += len(errors)
            return
        with self._counts_lock:
            self.applied += len(documents)

    def insert_tracking(self, tracking: Tracking) -> None:
        """Moves the position forward only (`$max`), so a replay can never move it back."""
        update = {"$max": {"notificationId": tracking.notification_id}}
        try:
            self._tracking.update_one({"_id": tracking.application_name}, update, upsert=True)
        except DuplicateKeyError:
            # Two writers upserted the first position at once; the document exists now.
            self._tracking.update_one({"_id": tracking.application_name}, update)

    def max_tracking_id(self, application_name: str) -> int | None:
        position = self._tracking.find_one({"_id": application_name})
        return int(position["notificationId"]) if position is not None else None

    def _count(self, *, applied: bool) -> None:
        with self._counts_lock:
            if applied:
                self.applied += 1
            else:
                self.stale += 1


def _guard(document: PaymentDocument) -> PaymentDocument:
    """Matches the order's document only while it reflects an older version."""
    return {"orderId": document["orderId"], "version": {"$lt": document["version"]}}
