"""`PaymentStatusView` on MongoDB, read with pymongo's asyncio client."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from application.ports import PaymentStatusReport
from infrastructure.mongo.payment_document import (
    DEFAULT_DATABASE,
    PAYMENTS,
    PaymentDocument,
    report_from,
)

log = logging.getLogger(__name__)
# After a failed read, reads skip MongoDB this long; then one ping in the background
# decides whether they go back to it (and, if not, skips another interval).
RETRY_AFTER_SECONDS = 5.0


class MongoPaymentStatusView:
    """The API's reads of the `payments` collection kept by the status projection."""

    def __init__(
        self,
        client: AsyncMongoClient[PaymentDocument],
        retry_after_seconds: float = RETRY_AFTER_SECONDS,
    ) -> None:
        self._client = client
        database = client.get_default_database(default=DEFAULT_DATABASE)
        self._payments: AsyncCollection[PaymentDocument] = database[PAYMENTS]
        self._retry_after = retry_after_seconds
        self._skip_until: float | None = None  # monotonic; None while MongoDB answers
        self._retry: asyncio.Task[None] | None = None

    @classmethod
    def from_uri(
        cls, uri: str, timeout_ms: int = 2000, retry_after_seconds: float = RETRY_AFTER_SECONDS
    ) -> MongoPaymentStatusView:
        """A view on the URI's default database; connects lazily, fails fast when down."""
        client: AsyncMongoClient[PaymentDocument] = AsyncMongoClient(
            uri, tz_aware=True, serverSelectionTimeoutMS=timeout_ms
        )
        return cls(client, retry_after_seconds)

    async def get(self, order_id: str) -> PaymentStatusReport | None:
        """The order's document, or None when there is none or MongoDB is unreachable.

        None makes `GetPaymentStatus` answer from the event store, which is the
        truth the view is derived from: a MongoDB outage slows reads, never fails them.
        Only the read that finds MongoDB gone waits for its timeout: the reads after it
        skip MongoDB until a background ping finds it back.
        """
        if self._skipping():
            return None
        try:
            document = await self._payments.find_one({"orderId": order_id}, {"_id": 0})
        except PyMongoError as error:
            if self._skip_until is None:
                log.warning(
                    "status view unavailable, answering from the event store",
                    extra={"orderId": order_id, "error": type(error).__name__},
                )
            self._skip_until = time.monotonic() + self._retry_after
            return None
        return report_from(document) if document is not None else None

    def _skipping(self) -> bool:
        if self._skip_until is None:
            return False
        retrying = self._retry is not None and not self._retry.done()
        if time.monotonic() >= self._skip_until and not retrying:
            self._retry = asyncio.create_task(self._try_again())
        return True

    async def _try_again(self) -> None:
        try:
            await self._client.admin.command("ping")
        except PyMongoError:
            self._skip_until = time.monotonic() + self._retry_after
            return
        self._skip_until = None
        log.info("status view available again")

    async def ping(self) -> None:
        """Raises a `pymongo.errors.PyMongoError` when MongoDB does not answer (readiness)."""
        await self._client.admin.command("ping")

    async def close(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retry
        await self._client.close()
