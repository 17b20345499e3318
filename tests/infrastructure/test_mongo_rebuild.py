"""Rebuilding the status view from the event store gives the view the live projection built."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from pymongo.database import Database

from application.ledger import PaymentLedger
from domain.lifecycle import FailedPaymentPolicy
from infrastructure.event_store.store import event_store_env
from infrastructure.mongo.payment_view import MongoPaymentView
from infrastructure.mongo.projection_rebuild import rebuild
from infrastructure.mongo.projection_worker import StatusProjectionWorker
from infrastructure.mongo.status_projection import PaymentStatusProjection
from tests.infrastructure.mongo_view_position import view_reaches
from tests.infrastructure.payment_story import PaymentStory

Document = dict[str, Any]
PAYMENTS_CLI = Path(sys.executable).parent / "payments"


def tell_several_stories(ledger: PaymentLedger) -> None:
    PaymentStory(ledger, "ord_open").initiate()
    paid = PaymentStory(ledger, "ord_paid").initiate()
    paid.paid()
    paid.order_confirmed()
    expired = PaymentStory(ledger, "ord_expired", "user_2").initiate()
    expired.stripe("checkout.session.expired")
    expired.stock_released()
    expired.order_cancelled()
    retried = PaymentStory(ledger, "ord_retried").initiate()
    retried.stripe("payment_intent.payment_failed", policy=FailedPaymentPolicy.RETRY)
    refunded = PaymentStory(ledger, "ord_refunded").initiate()
    refunded.stripe("checkout.session.expired")
    refunded.paid()
    refunded.refunded()


def view_contents(mongo_db: Database[Document]) -> list[Document]:
    return list(mongo_db.payments.find({}, {"_id": 0}).sort("orderId", 1))


async def test_a_rebuilt_view_is_identical_to_the_live_one(
    ledger: PaymentLedger, mongo_database_uri: str, mongo_db: Database[Document]
) -> None:
    worker = StatusProjectionWorker(ledger, mongo_database_uri)
    await worker.start()
    try:
        tell_several_stories(ledger)
        assert await view_reaches(mongo_db, ledger, ledger.last_notification_id())
    finally:
        await worker.stop()
    live = view_contents(mongo_db)
    view = MongoPaymentView(mongo_db)

    summary = rebuild(ledger, PaymentStatusProjection(MongoPaymentView(mongo_db), ledger))

    assert view_contents(mongo_db) == live
    assert [d["status"] for d in live] == [
        "FAILED",
        "INITIATED",
        "SUCCESS",
        "REFUNDED",
        "INITIATED",
    ]
    assert summary.events == ledger.last_notification_id()
    assert view.max_tracking_id(ledger.name) == ledger.last_notification_id()


def test_rebuild_replaces_a_corrupted_view(
    ledger: PaymentLedger, mongo_db: Database[Document]
) -> None:
    tell_several_stories(ledger)
    projection = PaymentStatusProjection(MongoPaymentView(mongo_db), ledger)
    rebuild(ledger, projection)
    good = view_contents(mongo_db)
    mongo_db.payments.update_one({"orderId": "ord_paid"}, {"$set": {"status": "FAILED"}})
    mongo_db.payments.insert_one({"orderId": "ord_stray", "status": "SUCCESS", "version": 99})

    rebuild(ledger, PaymentStatusProjection(MongoPaymentView(mongo_db), ledger))

    assert view_contents(mongo_db) == good


def test_the_rebuild_command_rebuilds_and_reports_its_speed(
    store_url: str, mongo_database_uri: str, mongo_db: Database[Document]
) -> None:
    with PaymentLedger(event_store_env(store_url)) as ledger:
        tell_several_stories(ledger)
        events = ledger.last_notification_id()
    mongo_db.payments.insert_one({"orderId": "ord_stray", "status": "SUCCESS", "version": 1})

    result = subprocess.run(
        [str(PAYMENTS_CLI), "projections", "rebuild"],
        env={**os.environ, "EVENT_STORE_URL": store_url, "MONGODB_URI": mongo_database_uri},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert f"{events} events" in result.stdout
    assert "events/s" in result.stdout
    orders = [d["orderId"] for d in view_contents(mongo_db)]
    assert orders == ["ord_expired", "ord_open", "ord_paid", "ord_refunded", "ord_retried"]


def test_the_rebuild_command_refuses_a_store_that_does_not_exist(
    tmp_path: Path, mongo_database_uri: str, mongo_db: Database[Document]
) -> None:
    mongo_db.payments.insert_one({"orderId": "ord_kept", "status": "SUCCESS", "version": 1})

    result = subprocess.run(
        [
            str(PAYMENTS_CLI),
            "projections",
            "rebuild",
            "--store",
            f"sqlite:///{tmp_path / 'missing.db'}",
            "--mongodb-uri",
            mongo_database_uri,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1
    assert "no event store" in result.stderr
    assert mongo_db.payments.count_documents({"orderId": "ord_kept"}) == 1
