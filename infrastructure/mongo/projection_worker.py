"""The status projection as a background worker of the app (started and stopped by its lifespan)."""

from __future__ import annotations

from pymongo.database import Database

from application.ledger import PaymentLedger
from infrastructure.event_store.log_follower import FollowerTimings, LogFollower
from infrastructure.mongo.payment_document import PaymentDocument
from infrastructure.mongo.payment_view import MongoPaymentView
from infrastructure.mongo.projection_consumer import StatusViewConsumer
from infrastructure.mongo.status_projection import PaymentStatusProjection

# The view lags the store by up to this much more (ADR 0011: reads of a payment the view
# does not have yet fall back to the store), and busy payments are written once for
# several events: on a busy store each document write is what the projection costs most.
PROJECTION_TIMINGS = FollowerTimings(coalesce=0.25)


class StatusProjectionWorker:
    """Keeps the MongoDB status view in `database` up to date with the ledger.

    Starting does not wait for MongoDB: the follower retries with backoff, and
    reads fall back to the event store meanwhile.
    """

    def __init__(
        self,
        ledger: PaymentLedger,
        database: Database[PaymentDocument],
        timings: FollowerTimings | None = None,
    ) -> None:
        view = MongoPaymentView(database)
        self.consumer = StatusViewConsumer(ledger, PaymentStatusProjection(view, ledger))
        self.follower = LogFollower(ledger, self.consumer, timings or PROJECTION_TIMINGS)

    async def start(self) -> None:
        await self.follower.start()

    async def stop(self) -> None:
        """Lets the batch in hand reach MongoDB; the client is the process's (closed after
        every worker stopped, and not while a MongoDB call outlives this stop)."""
        await self.follower.stop()

    def still_running(self) -> bool:
        """True while running, and after `stop()` while a MongoDB call outlives it
        (the ledger and the MongoDB client must then stay open too)."""
        return self.follower.still_running()
