"""The status projection as a background worker of the app (started and stopped by its lifespan)."""

from __future__ import annotations

import asyncio

from pymongo import MongoClient

from application.ledger import PaymentLedger
from infrastructure.event_store.polling_subscription import POLL_INTERVAL
from infrastructure.mongo.payment_document import DEFAULT_DATABASE, PaymentDocument
from infrastructure.mongo.payment_view import MongoPaymentView
from infrastructure.mongo.projection_runner import ProjectionRunner
from infrastructure.mongo.status_projection import PaymentStatusProjection

SERVER_TIMEOUT_MS = 5000


class StatusProjectionWorker:
    """Keeps the MongoDB status view of `mongodb_uri` up to date with the ledger.

    Starting does not wait for MongoDB: the runner retries in its own thread, and
    reads fall back to the event store meanwhile.
    """

    def __init__(
        self, ledger: PaymentLedger, mongodb_uri: str, poll_interval: float = POLL_INTERVAL
    ) -> None:
        self._client: MongoClient[PaymentDocument] = MongoClient(
            mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=SERVER_TIMEOUT_MS
        )
        view = MongoPaymentView(self._client.get_default_database(default=DEFAULT_DATABASE))
        self.runner = ProjectionRunner(
            ledger, PaymentStatusProjection(view, ledger), poll_interval=poll_interval
        )

    async def start(self) -> None:
        self.runner.start()

    async def stop(self) -> None:
        # A thread that outlived the timeout may still be using the client: leave it open.
        if await asyncio.to_thread(self.runner.stop):
            await asyncio.to_thread(self._client.close)

    def still_running(self) -> bool:
        """True if the projection thread outlived `stop()`: the ledger must stay open too."""
        return self.runner.is_running
