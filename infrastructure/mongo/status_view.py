"""`PaymentStatusView` on MongoDB, read through the process's one client (off the event loop)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import pymongo
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import PyMongoError

from application.ports import PaymentStatusReport
from infrastructure.mongo.payment_document import (
    PAYMENTS,
    PaymentDocument,
    report_from,
    written_before_money_back,
)

log = logging.getLogger(__name__)
# After a failed read, reads skip MongoDB this long; then one ping in the background
# decides whether they go back to it (and, if not, skips another interval).
RETRY_AFTER_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 2.0


class MongoPaymentStatusView:
    """The API's reads of the `payments` collection kept by the status projection."""

    def __init__(
        self,
        database: Database[PaymentDocument],
        timeout_seconds: float = READ_TIMEOUT_SECONDS,
        retry_after_seconds: float = RETRY_AFTER_SECONDS,
    ) -> None:
        self._database = database
        self._payments: Collection[PaymentDocument] = database[PAYMENTS]
        self._timeout = timeout_seconds
        self._retry_after = retry_after_seconds
        self._skip_until: float | None = None  # monotonic; None while MongoDB answers
        self._retry: asyncio.Task[None] | None = None

    async def get(self, order_id: str) -> PaymentStatusReport | None:
        """The order's document, or None when there is none, MongoDB is unreachable, or
        the document was written before it could say what is owed back, or in which currency.

        None makes `GetPaymentStatus` answer from the event store, which is the
        truth the view is derived from: a MongoDB outage slows reads, never fails them.
        Only the read that finds MongoDB gone waits for its timeout: the reads after it
        skip MongoDB until a background ping finds it back.
        """
        if self._skipping():
            return None
        try:
            document = await asyncio.to_thread(self._find, order_id)
        except PyMongoError as error:
            if self._skip_until is None:
                log.warning(
                    "status view unavailable, answering from the event store",
                    extra={"orderId": order_id, "error": type(error).__name__},
                )
            self._skip_until = time.monotonic() + self._retry_after
            return None
        if document is None or written_before_money_back(document):
            return None
        return report_from(document)

    def _find(self, order_id: str) -> PaymentDocument | None:
        with pymongo.timeout(self._timeout):  # fails fast when MongoDB is down
            return self._payments.find_one({"orderId": order_id}, {"_id": 0})

    def _ping(self) -> None:
        with pymongo.timeout(self._timeout):
            self._database.client.admin.command("ping")

    def _skipping(self) -> bool:
        if self._skip_until is None:
            return False
        retrying = self._retry is not None and not self._retry.done()
        if time.monotonic() >= self._skip_until and not retrying:
            self._retry = asyncio.create_task(self._try_again())
        return True

    async def _try_again(self) -> None:
        try:
            await asyncio.to_thread(self._ping)
        except PyMongoError:
            self._skip_until = time.monotonic() + self._retry_after
            return
        self._skip_until = None
        log.info("status view available again")

    async def close(self) -> None:
        """Cancels the background ping; the client is the process's, closed by its owner."""
        if self._retry is not None:
            self._retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retry
