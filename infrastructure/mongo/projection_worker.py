"""The status projection as a background worker of the app (started and stopped by its lifespan)."""

from __future__ import annotations

import asyncio

from pymongo import MongoClient

from application.ledger import PaymentLedger
from infrastructure.event_store.log_follower import FollowerTimings, LogFollower
from infrastructure.mongo.payment_document import DEFAULT_DATABASE, PaymentDocument
from infrastructure.mongo.payment_view import MongoPaymentView
from infrastructure.mongo.projection_consumer import StatusViewConsumer
from infrastructure.mongo.status_projection import PaymentStatusProjection

SERVER_TIMEOUT_MS = 5000


class StatusProjectionWorker:
    """Keeps the MongoDB status view of `mongodb_uri` up to date with the ledger.

    Starting does not wait for MongoDB: the follower retries with backoff, and
    reads fall back to the event store meanwhile.
    """

    def __init__(
        self,
        ledger: PaymentLedger,
        mongodb_uri: str,
        timings: FollowerTimings | None = None,
    ) -> None:
        self._client: MongoClient[PaymentDocument] = MongoClient(
            mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=SERVER_TIMEOUT_MS
        )
        view = MongoPaymentView(self._client.get_default_database(default=DEFAULT_DATABASE))
        self.consumer = StatusViewConsumer(ledger, PaymentStatusProjection(view, ledger))
        self.follower = LogFollower(ledger, self.consumer, timings)

    async def start(self) -> None:
        await self.follower.start()

    async def stop(self) -> None:
        """Lets the batch in hand reach MongoDB, then closes the client."""
        # A MongoDB call that outlived the timeout may still be using the client: leave it open.
        if await self.follower.stop():
            await asyncio.to_thread(self._client.close)

    def still_running(self) -> bool:
        """True while running, and after `stop()` while a MongoDB call outlives it
        (the ledger must then stay open too)."""
        return self.follower.still_running()
