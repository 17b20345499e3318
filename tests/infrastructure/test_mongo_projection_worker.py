"""The projection as the app runs it: a background worker that survives MongoDB being down."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.database import Database

from application.ledger import PaymentLedger
from infrastructure.mongo.projection_worker import StatusProjectionWorker
from tests.fixtures.mongo import free_port, start_secantus, stop_secantus, with_database
from tests.infrastructure.payment_story import PaymentStory

Document = dict[str, Any]
WAIT = 30.0


async def test_the_worker_keeps_the_view_current_between_start_and_stop(
    ledger: PaymentLedger, mongo_database_uri: str, mongo_db: Database[Document]
) -> None:
    worker = StatusProjectionWorker(ledger, mongo_database_uri)
    await worker.start()
    try:
        PaymentStory(ledger, "ord_worker").initiate().paid()
        assert worker.runner.wait(ledger.last_notification_id(), timeout=WAIT)
    finally:
        await worker.stop()

    assert not worker.runner.is_running
    document = mongo_db.payments.find_one({"orderId": "ord_worker"})
    assert document is not None
    assert (document["status"], document["version"]) == ("SUCCESS", 2)


async def test_events_recorded_while_mongodb_is_down_reach_the_view_once_it_is_up(
    ledger: PaymentLedger, tmp_path: Path
) -> None:
    port = free_port()
    server_uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    worker = StatusProjectionWorker(ledger, with_database(server_uri, "paymentdb"))
    # MongoDB is not there yet (this test starts its own SecantusDB later, whatever
    # MONGODB_URI says): starting must not wait for it.
    await asyncio.wait_for(worker.start(), 5)
    process = None
    try:
        PaymentStory(ledger, "ord_outage").initiate().paid()
        _, process = start_secantus(tmp_path / "late-mongo", port=port)
        assert worker.runner.wait(ledger.last_notification_id(), timeout=WAIT)
        with MongoClient(server_uri) as client:
            document = client.paymentdb.payments.find_one({"orderId": "ord_outage"})
    finally:
        await worker.stop()
        if process is not None:
            stop_secantus(process)

    assert document is not None
    assert (document["status"], document["version"]) == ("SUCCESS", 2)
