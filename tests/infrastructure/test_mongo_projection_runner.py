"""The projection running in the background: follows live writes, stops, resumes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo.database import Database

from application.ledger import PaymentLedger
from infrastructure.mongo.payment_view import MongoPaymentView
from infrastructure.mongo.projection_runner import ProjectionRunner
from infrastructure.mongo.status_projection import PaymentStatusProjection
from tests.infrastructure.payment_story import PaymentStory

Document = dict[str, Any]
WAIT = 15.0
NEVER_POLL = 3600.0  # on SQLite only the ledger's own writes can wake the runner


def start_runner(ledger: PaymentLedger, mongo_db: Database[Document]) -> ProjectionRunner:
    view = MongoPaymentView(mongo_db)
    view.ensure_indexes()
    runner = ProjectionRunner(ledger, PaymentStatusProjection(view, ledger), NEVER_POLL)
    runner.start()
    return runner


@pytest.fixture
def runner(ledger: PaymentLedger, mongo_db: Database[Document]) -> Iterator[ProjectionRunner]:
    runner = start_runner(ledger, mongo_db)
    yield runner
    runner.stop()
    assert not runner.is_running


def shown(mongo_db: Database[Document], order_id: str) -> tuple[str, int]:
    document = mongo_db.payments.find_one({"orderId": order_id})
    assert document is not None
    return document["status"], document["version"]


def test_the_view_follows_the_services_writes(
    ledger: PaymentLedger, runner: ProjectionRunner, mongo_db: Database[Document]
) -> None:
    story = PaymentStory(ledger, "ord_live").initiate()
    assert runner.wait(ledger.last_notification_id(), timeout=WAIT)
    assert shown(mongo_db, "ord_live") == ("INITIATED", 1)

    story.paid()
    assert runner.wait(ledger.last_notification_id(), timeout=WAIT)
    assert shown(mongo_db, "ord_live") == ("SUCCESS", 2)


def test_a_restarted_runner_applies_what_was_written_while_it_was_stopped(
    ledger: PaymentLedger, mongo_db: Database[Document]
) -> None:
    first = start_runner(ledger, mongo_db)
    early = PaymentStory(ledger, "ord_early").initiate()
    early.paid()
    assert first.wait(ledger.last_notification_id(), timeout=WAIT)
    first.stop()

    early.order_confirmed()
    PaymentStory(ledger, "ord_while_down").initiate().stripe("checkout.session.expired")

    view = MongoPaymentView(mongo_db)
    second = ProjectionRunner(ledger, PaymentStatusProjection(view, ledger), NEVER_POLL)
    second.start()
    try:
        assert second.wait(ledger.last_notification_id(), timeout=WAIT)
    finally:
        second.stop()

    assert shown(mongo_db, "ord_early") == ("SUCCESS", 3)
    assert shown(mongo_db, "ord_while_down") == ("FAILED", 2)
    assert mongo_db.payments.count_documents({}) == 2
    assert view.max_tracking_id(ledger.name) == ledger.last_notification_id()


def test_waiting_for_a_position_not_reached_reports_false(
    ledger: PaymentLedger, runner: ProjectionRunner
) -> None:
    PaymentStory(ledger, "ord_wait").initiate()
    assert not runner.wait(ledger.last_notification_id() + 1000, timeout=0.2)


class HangingView:
    """A view whose first MongoDB call hangs (a server that stopped answering)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def ensure_indexes(self) -> None:
        self.entered.set()
        self.release.wait(WAIT)


class HangingProjection:
    def __init__(self) -> None:
        self.view = HangingView()


def test_a_thread_that_does_not_stop_in_time_is_reported_not_waited_for(
    ledger: PaymentLedger, caplog: pytest.LogCaptureFixture
) -> None:
    projection = HangingProjection()
    runner = ProjectionRunner(ledger, projection, NEVER_POLL)  # type: ignore[arg-type]
    runner.start()
    assert projection.view.entered.wait(WAIT)

    with caplog.at_level(logging.ERROR):
        stopped = runner.stop(timeout=0.1)

    assert not stopped and runner.is_running
    assert any(getattr(r, "alert", False) for r in caplog.records)
    projection.view.release.set()
    assert runner.stop(timeout=WAIT)
    assert not runner.is_running
