"""The materialised status view on MongoDB, as an eventsourcing `TrackingRecorder`.

No multi-document transactions (a standalone mongod has none): each payment
document is written by one version-guarded upsert, and the tracking position
afterwards by a monotonic `$max`. See ADR 0011 for why that is enough.

A rebuild writes a fresh collection with a position of its own and swaps it in
with one `renameCollection`. Each position carries the generation of
the collection it describes, and a writer only moves the position it read: after
a swap its next position write finds another generation and raises
`ViewReplaced`, so it starts again from the rebuilt view's position instead of
skipping what it had written into the collection the swap dropped. The rename waits
for the live batches in flight, and they for it (`swap_lock`).
"""

from __future__ import annotations

import threading
import uuid

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
from infrastructure.mongo.swap_lock import ViewSwapLock

DUPLICATE_KEY = 11000
REBUILD_PREFIX = f"{PAYMENTS}_rebuild_"
Generation = str | None  # None: the live view before its first rebuild


class ViewReplaced(Exception):
    """The collection this writer's position belonged to was swapped out by a rebuild."""


class MongoPaymentView(TrackingRecorder):
    """Payment documents plus the projection's position, in one MongoDB database.

    `applied` and `stale` count this instance's document writes that changed the
    view and those the version guard turned into no-ops (replays, reordering).
    `collection` is `payments` (the view the API reads) unless a rebuild writes a
    fresh one beside it.
    """

    def __init__(self, database: Database[PaymentDocument], collection: str = PAYMENTS) -> None:
        self._database = database
        self._collection = collection
        self._payments: Collection[PaymentDocument] = database[collection]
        self._tracking: Collection[PaymentDocument] = database[TRACKING]
        self._generations: dict[str, Generation] = {}  # by tracking id, as last read
        self._counts_lock = threading.Lock()
        self.applied = 0
        self.stale = 0

    @classmethod
    def fresh(cls, database: Database[PaymentDocument]) -> MongoPaymentView:
        """A new, empty, indexed collection beside the live view, for a rebuild."""
        view = cls(database, f"{REBUILD_PREFIX}{uuid.uuid4().hex}")
        view.ensure_indexes()
        return view

    @property
    def database(self) -> Database[PaymentDocument]:
        return self._database

    def ensure_indexes(self) -> None:
        ensure_indexes(self._payments)

    def swap_in(self, application_name: str, writers: ViewSwapLock) -> None:
        """Makes this view the live one: one atomic rename over `payments`, then its position.

        Both while holding `writers` (the live projection's swap lock) alone, so no live
        batch is half written meanwhile: a rename that ran beside a write to `payments`
        could leave a second document for an order (see `swap_lock`). The position is
        written after the rename, so a live writer that still holds the old generation
        fails its next position write (`ViewReplaced`) and goes back to this view's
        position. What it wrote before the swap went into the old collection, dropped
        with it, and is written again from the rebuilt position; what it writes after
        goes through the version guard.
        """
        with writers.swapping():
            self._swap_in(application_name)

    def _swap_in(self, application_name: str) -> None:
        own_tracking = self._tracking_id(application_name)
        position = self.max_tracking_id(application_name) or 0
        generation = self._collection
        self._payments.rename(PAYMENTS, dropTarget=True)
        self._collection, self._payments = PAYMENTS, self._database[PAYMENTS]
        live = {"notificationId": position, "generation": generation}
        try:
            self._tracking.replace_one({"_id": application_name}, live, upsert=True)
        except DuplicateKeyError:  # a live writer inserted the first position just now
            self._tracking.replace_one({"_id": application_name}, live)
        self._generations[application_name] = generation
        self._tracking.delete_one({"_id": own_tracking})

    def discard(self, application_name: str) -> None:
        """Drops a rebuild's collection and position (a rebuild that did not finish)."""
        if self._collection != PAYMENTS:
            self._payments.drop()
            self._tracking.delete_one({"_id": self._tracking_id(application_name)})

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

    def insert_payments(self, documents: list[PaymentDocument]) -> None:
        """Adds documents of orders this collection does not hold yet: a rebuild's first pass
        into its fresh collection, one document per order. Plain inserts, much cheaper than
        guarded upserts; a document that is there already (someone wrote it meanwhile) is
        left as it is, as the guard would leave an equal or newer version."""
        if not documents:
            return
        try:
            self._payments.insert_many(documents, ordered=False)
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
        """Moves the position forward only (`$max`), so a replay can never move it back.

        Only the position of the generation last read (`max_tracking_id`) is moved;
        if a rebuild has swapped in another collection since, raises `ViewReplaced`.
        """
        tracking_id = self._tracking_id(tracking.application_name)
        if tracking_id not in self._generations:
            self.max_tracking_id(tracking.application_name)
        generation = self._generations[tracking_id]
        position = {"_id": tracking_id, "generation": generation}
        update = {"$max": {"notificationId": tracking.notification_id}}
        try:
            self._tracking.update_one(position, update, upsert=True)
            return
        except DuplicateKeyError:
            # Two writers upserted the first position at once, or another generation holds it.
            result = self._tracking.update_one(position, update)
        if result.matched_count == 0:
            del self._generations[tracking_id]
            raise ViewReplaced(
                f"the status view was rebuilt and swapped in after position "
                f"{tracking.notification_id} was read; resuming from the rebuilt view's position"
            )

    def max_tracking_id(self, application_name: str) -> int | None:
        """The stored position, remembered with its generation for the writes that follow."""
        tracking_id = self._tracking_id(application_name)
        position = self._tracking.find_one({"_id": tracking_id})
        self._generations[tracking_id] = position.get("generation") if position else None
        return int(position["notificationId"]) if position is not None else None

    def _tracking_id(self, application_name: str) -> str:
        """The live view's position keeps its old id; a rebuild's is named after its collection."""
        if self._collection == PAYMENTS:
            return application_name
        return f"{application_name}@{self._collection}"

    def _count(self, *, applied: bool) -> None:
        with self._counts_lock:
            if applied:
                self.applied += 1
            else:
                self.stale += 1


def _guard(document: PaymentDocument) -> PaymentDocument:
    """Matches the order's document only while it reflects an older version."""
    return {"orderId": document["orderId"], "version": {"$lt": document["version"]}}
