"""The projection as the app runs it: a log follower feeding the MongoDB view, woken by
the service's writes, resuming from the view's stored position, surviving MongoDB being down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.database import Database

from application.ledger import PaymentLedger
from infrastructure.effects.backoff import Backoff
from infrastructure.event_store.log_follower import FollowerTimings
from infrastructure.mongo.connection import MongoConnection
from infrastructure.mongo.payment_view import MongoPaymentView
from infrastructure.mongo.projection_worker import StatusProjectionWorker
from tests.fixtures.mongo import free_port, start_secantus, stop_secantus, with_database
from tests.infrastructure.mongo_view_position import view_reaches
from tests.infrastructure.payment_story import PaymentStory

Document = dict[str, Any]
# On SQLite only the ledger's own writes can wake the follower: a poll would hide a lost wake-up.
NEVER_POLL = FollowerTimings(poll_interval=3600.0, backoff=Backoff(0.05, 0.5))


def shown(mongo_db: Database[Document], order_id: str) -> tuple[str, int]:
    document = mongo_db.payments.find_one({"orderId": order_id})
    assert document is not None
    return document["status"], document["version"]


Start = Callable[[], Awaitable[StatusProjectionWorker]]


@pytest.fixture
async def start_worker(
    ledger: PaymentLedger, mongo_connection: MongoConnection
) -> AsyncIterator[Start]:
    started: list[StatusProjectionWorker] = []

    async def start() -> StatusProjectionWorker:
        worker = StatusProjectionWorker(ledger, mongo_connection.database, NEVER_POLL)
        await worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        await worker.stop()
        assert not worker.still_running()


async def test_the_view_follows_the_services_writes(
    ledger: PaymentLedger, start_worker: Start, mongo_db: Database[Document]
) -> None:
    await start_worker()

    story = PaymentStory(ledger, "ord_live").initiate()
    assert await view_reaches(mongo_db, ledger, ledger.last_notification_id())
    assert shown(mongo_db, "ord_live") == ("INITIATED", 1)

    story.paid()
    assert await view_reaches(mongo_db, ledger, ledger.last_notification_id())
    assert shown(mongo_db, "ord_live") == ("SUCCESS", 2)


async def test_a_restarted_worker_applies_what_was_written_while_it_was_stopped(
    ledger: PaymentLedger, start_worker: Start, mongo_db: Database[Document]
) -> None:
    first = await start_worker()
    early = PaymentStory(ledger, "ord_early").initiate()
    early.paid()
    assert await view_reaches(mongo_db, ledger, ledger.last_notification_id())
    await first.stop()

    early.order_confirmed()
    PaymentStory(ledger, "ord_while_down").initiate().stripe("checkout.session.expired")
    await start_worker()
    assert await view_reaches(mongo_db, ledger, ledger.last_notification_id())

    assert shown(mongo_db, "ord_early") == ("SUCCESS", 3)
    assert shown(mongo_db, "ord_while_down") == ("FAILED", 2)
    assert mongo_db.payments.count_documents({}) == 2
    view = MongoPaymentView(mongo_db)
    assert view.max_tracking_id(ledger.name) == ledger.last_notification_id()


async def test_the_worker_keeps_the_view_current_between_start_and_stop(
    ledger: PaymentLedger, mongo_connection: MongoConnection, mongo_db: Database[Document]
) -> None:
    worker = StatusProjectionWorker(ledger, mongo_connection.database)
    await worker.start()
    try:
        PaymentStory(ledger, "ord_worker").initiate().paid()
        assert await view_reaches(mongo_db, ledger, ledger.last_notification_id())
    finally:
        await worker.stop()

    assert not worker.still_running()
    document = mongo_db.payments.find_one({"orderId": "ord_worker"})
    assert document is not None
    assert (document["status"], document["version"]) == ("SUCCESS", 2)


async def test_events_recorded_while_mongodb_is_down_reach_the_view_once_it_is_up(
    ledger: PaymentLedger, tmp_path: Path
) -> None:
    port = free_port()
    server_uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    mongo = MongoConnection(with_database(server_uri, "paymentdb"))
    worker = StatusProjectionWorker(ledger, mongo.database, NEVER_POLL)
    # MongoDB is not there yet (this test starts its own SecantusDB later, whatever
    # MONGODB_URI says): starting must not wait for it.
    await asyncio.wait_for(worker.start(), 5)
    process = None
    try:
        PaymentStory(ledger, "ord_outage").initiate().paid()
        _, process = start_secantus(tmp_path / "late-mongo", port=port)
        client: MongoClient[Document]
        with MongoClient(server_uri) as client:
            assert await view_reaches(client.paymentdb, ledger, ledger.last_notification_id())
            document = client.paymentdb.payments.find_one({"orderId": "ord_outage"})
    finally:
        await worker.stop()
        mongo.close()
        if process is not None:
            stop_secantus(process)

    assert document is not None
    assert (document["status"], document["version"]) == ("SUCCESS", 2)
