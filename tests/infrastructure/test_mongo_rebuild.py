"""Rebuilding the status view from the event store gives the view the live projection built."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from pymongo.database import Database
from pymongo.errors import PyMongoError

from application.ledger import PaymentLedger
from domain.lifecycle import FailedPaymentPolicy
from infrastructure.effects.backoff import Backoff
from infrastructure.event_store.log_follower import FollowerTimings, LogFollower
from infrastructure.event_store.store import event_store_env
from infrastructure.mongo import projection_rebuild
from infrastructure.mongo.connection import MongoConnection
from infrastructure.mongo.payment_view import MongoPaymentView, ViewReplaced
from infrastructure.mongo.projection_consumer import StatusViewConsumer
from infrastructure.mongo.projection_rebuild import catch_up, rebuild
from infrastructure.mongo.projection_worker import StatusProjectionWorker
from infrastructure.mongo.status_projection import PaymentStatusProjection
from tests.infrastructure.mongo_view_position import view_reaches
from tests.infrastructure.payment_story import PaymentStory

Document = dict[str, Any]
PAYMENTS_CLI = Path(sys.executable).parent / "payments"
# The live projection as the service runs it, but quick to back off and retry.
LIVE = FollowerTimings(poll_interval=0.2, batch_size=50, backoff=Backoff(0.05, 0.5))
REBUILDS = 5


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
    ledger: PaymentLedger, mongo_connection: MongoConnection, mongo_db: Database[Document]
) -> None:
    worker = StatusProjectionWorker(ledger, mongo_connection.database)
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
    assert sorted(mongo_db.list_collection_names()) == ["payments", "projection_tracking"]
    assert [t["_id"] for t in mongo_db.projection_tracking.find()] == [ledger.name]


def test_after_a_rebuild_the_version_guard_still_refuses_an_older_version(
    ledger: PaymentLedger, mongo_db: Database[Document]
) -> None:
    tell_several_stories(ledger)
    rebuild(ledger, PaymentStatusProjection(MongoPaymentView(mongo_db), ledger))
    current = mongo_db.payments.find_one({"orderId": "ord_paid"}, {"_id": 0})
    assert current is not None and current["version"] == 3

    stale = {**current, "status": "INITIATED", "version": 1}
    assert not MongoPaymentView(mongo_db).save_payment(stale)

    assert mongo_db.payments.find_one({"orderId": "ord_paid"}, {"_id": 0}) == current


def test_a_rebuild_that_fails_leaves_the_live_view_and_drops_its_own_collection(
    ledger: PaymentLedger, mongo_db: Database[Document], monkeypatch: pytest.MonkeyPatch
) -> None:
    tell_several_stories(ledger)
    rebuild(ledger, PaymentStatusProjection(MongoPaymentView(mongo_db), ledger))
    live = view_contents(mongo_db)

    def unreachable(view: MongoPaymentView, application_name: str, writers: object) -> None:
        raise PyMongoError("connection closed")

    monkeypatch.setattr(MongoPaymentView, "swap_in", unreachable)
    with pytest.raises(PyMongoError):
        rebuild(ledger, PaymentStatusProjection(MongoPaymentView(mongo_db), ledger))

    assert view_contents(mongo_db) == live
    assert sorted(mongo_db.list_collection_names()) == ["payments", "projection_tracking"]
    assert [t["_id"] for t in mongo_db.projection_tracking.find()] == [ledger.name]


def test_a_live_writer_that_read_its_position_before_the_swap_resumes_from_the_rebuilt_one(
    ledger: PaymentLedger, mongo_db: Database[Document]
) -> None:
    """The live projection is in the middle of following the log (its position in hand)
    when the rebuilt view replaces the one it has been writing."""
    live = StatusViewConsumer(ledger, PaymentStatusProjection(MongoPaymentView(mongo_db), ledger))

    def follow_after(position: int) -> int:
        """One pass of the follower's loop: the batch after the position it holds."""
        batch = ledger.recorder.select_notifications(position, 50, inclusive_of_start=False)
        live.consume(batch)
        return batch[-1].id

    PaymentStory(ledger, "ord_before").initiate()
    position = follow_after(live.position())
    rebuilt = MongoPaymentView.fresh(mongo_db)
    catch_up(ledger, PaymentStatusProjection(rebuilt, ledger))  # the rebuild has read the log
    PaymentStory(ledger, "ord_between").initiate().paid()
    position = follow_after(position)  # into the collection about to be replaced
    rebuilt.swap_in(ledger.name, live.projection.swap_lock)
    PaymentStory(ledger, "ord_after").initiate()

    with pytest.raises(ViewReplaced):
        follow_after(position)
    assert live.position() < position  # the rebuilt view's, not the one in hand
    LogFollower(ledger, live).catch_up()  # what the follower does after the error

    assert {d["orderId"]: d["version"] for d in view_contents(mongo_db)} == {
        "ord_after": 1,
        "ord_before": 1,
        "ord_between": 2,
    }
    assert live.position() == ledger.last_notification_id()


def test_a_rebuild_ends_however_fast_the_service_records(
    ledger: PaymentLedger, mongo_db: Database[Document], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild projects up to where the log was when it got there, then swaps; what is
    recorded after is the live projection's. It used to read until the log stopped
    growing, so a service recording faster than the rebuild read kept it from ever ending:
    here a payment is recorded for every batch the rebuild handles."""
    monkeypatch.setattr(projection_rebuild, "INSERT_BATCH", 2)  # a batch every 2 documents
    tell_several_stories(ledger)
    recorded: list[PaymentStory] = []

    def the_service_records_meanwhile(_: int) -> None:
        assert len(recorded) < 50, "the rebuild is still chasing the log"
        recorded.append(PaymentStory(ledger, f"ord_meanwhile_{len(recorded)}").initiate())

    rebuild(
        ledger,
        PaymentStatusProjection(MongoPaymentView(mongo_db), ledger),
        the_service_records_meanwhile,
    )

    assert len(recorded) <= 5
    catch_up(ledger, PaymentStatusProjection(MongoPaymentView(mongo_db), ledger))
    assert mongo_db.payments.count_documents({}) == 5 + len(recorded)


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


class ServiceWrites:
    """A thread that keeps recording payments and the later events of earlier ones, as a
    busy service does: each step opens a payment, pays an earlier one, confirms another.

    It stops by itself after `limit` payments, so how much the test writes, and how long
    the live projection then needs to catch up, does not depend on the machine's speed."""

    def __init__(self, ledger: PaymentLedger, limit: int = 1_000) -> None:
        self._ledger = ledger
        self._limit = limit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="service-writes")
        self.stories: list[PaymentStory] = []

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        assert not self._thread.is_alive()

    def step(self) -> None:
        index = len(self.stories)
        self.stories.append(PaymentStory(self._ledger, f"ord_{index:04d}").initiate())
        if index >= 2:
            self.stories[index - 2].paid()
        if index >= 4:
            self.stories[index - 4].order_confirmed()

    def _run(self) -> None:
        while not self._stop.is_set() and len(self.stories) < self._limit:
            self.step()
            self._stop.wait(0.005)


def latest_versions(ledger: PaymentLedger, stories: list[PaymentStory]) -> dict[str, int]:
    return {story.order_id: story.payment().version for story in stories}


def shown_versions(mongo_db: Database[Document]) -> dict[str, int]:
    return {d["orderId"]: d["version"] for d in mongo_db.payments.find({}, {"_id": 0})}


async def test_a_rebuild_beside_live_writes_and_the_live_projection_loses_nothing(
    ledger: PaymentLedger,
    store_url: str,
    mongo_database_uri: str,
    mongo_connection: MongoConnection,
    mongo_db: Database[Document],
) -> None:
    """The command runs as its own process with its own store connection, while the service
    records payments and its projection keeps writing the view."""
    worker = StatusProjectionWorker(ledger, mongo_connection.database, LIVE)
    await worker.start()
    writes = ServiceWrites(ledger)
    try:
        for _ in range(120):
            writes.step()
        assert await view_reaches(mongo_db, ledger, ledger.last_notification_id())
        writes.start()

        def rebuild_as_the_command_does() -> None:
            with PaymentLedger(event_store_env(store_url)) as own:
                rebuild(own, PaymentStatusProjection(MongoPaymentView(mongo_db), own))

        for _ in range(REBUILDS):
            await asyncio.to_thread(rebuild_as_the_command_does)
        writes.stop()
        for _ in range(20):  # and the service goes on writing after the rebuild
            await asyncio.to_thread(writes.step)
        assert await view_reaches(mongo_db, ledger, ledger.last_notification_id())
    finally:
        writes.stop()
        await worker.stop()

    expected = latest_versions(ledger, writes.stories)
    assert len(expected) >= 140
    assert shown_versions(mongo_db) == expected
    assert mongo_db.payments.count_documents({}) == len(expected)  # one document per order
