"""`PaymentStatusView` on MongoDB, read with pymongo's asyncio client."""

from __future__ import annotations

import logging

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


class MongoPaymentStatusView:
    """The API's reads of the `payments` collection kept by the status projection."""

    def __init__(self, client: AsyncMongoClient[PaymentDocument]) -> None:
        self._client = client
        database = client.get_default_database(default=DEFAULT_DATABASE)
        self._payments: AsyncCollection[PaymentDocument] = database[PAYMENTS]

    @classmethod
    def from_uri(cls, uri: str, timeout_ms: int = 2000) -> MongoPaymentStatusView:
        """A view on the URI's default database; connects lazily, fails fast when down."""
        client: AsyncMongoClient[PaymentDocument] = AsyncMongoClient(
            uri, tz_aware=True, serverSelectionTimeoutMS=timeout_ms
        )
        return cls(client)

    async def get(self, order_id: str) -> PaymentStatusReport | None:
        """The order's document, or None when there is none or MongoDB is unreachable.

        None makes `GetPaymentStatus` answer from the event store, which is the
        truth the view is derived from: a MongoDB outage slows reads, never fails them.
        """
        try:
            document = await self._payments.find_one({"orderId": order_id}, {"_id": 0})
        except PyMongoError as error:
            log.warning(
                "status view unavailable, answering from the event store",
                extra={"orderId": order_id, "error": type(error).__name__},
            )
            return None
        return report_from(document) if document is not None else None

    async def ping(self) -> None:
        """Raises a `pymongo.errors.PyMongoError` when MongoDB does not answer (readiness)."""
        await self._client.admin.command("ping")

    async def close(self) -> None:
        await self._client.close()
