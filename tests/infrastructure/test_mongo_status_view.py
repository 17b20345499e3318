"""`MongoPaymentStatusView`: the API's reads of the status view, through the process's client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import PyMongoError

from application.errors import OrderNotFound
from application.identity import Caller
from application.ledger import PaymentLedger
from application.status import GetPaymentStatus, report_of
from domain.money import Money
from infrastructure.mongo.connection import MongoConnection
from infrastructure.mongo.payment_view import MongoPaymentView
from infrastructure.mongo.projection_rebuild import catch_up
from infrastructure.mongo.status_projection import PaymentStatusProjection
from infrastructure.mongo.status_view import MongoPaymentStatusView
from infrastructure.readiness_probes import MongoProbe
from tests.fixtures.mongo import free_port, start_secantus, stop_secantus, with_database
from tests.infrastructure.payment_story import BUYER_EMAIL, PaymentStory

Document = dict[str, Any]
OWNER = Caller("user_1", "user@example.com")
STRANGER = Caller("user_2", "other@example.com")


@pytest.fixture
async def status_view(mongo_connection: MongoConnection) -> AsyncIterator[MongoPaymentStatusView]:
    view = MongoPaymentStatusView(mongo_connection.database)
    yield view
    await view.close()


def project(ledger: PaymentLedger, mongo_db: Database[Document]) -> None:
    view = MongoPaymentView(mongo_db)
    view.ensure_indexes()
    catch_up(ledger, PaymentStatusProjection(view, ledger))


def to_millisecond(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


async def test_a_document_is_read_back_as_the_payments_report(
    ledger: PaymentLedger, mongo_db: Database[Document], status_view: MongoPaymentStatusView
) -> None:
    story = PaymentStory(ledger, "ord_read").initiate()
    story.paid()
    project(ledger, mongo_db)

    report = await status_view.get("ord_read")

    expected = report_of(story.payment())
    assert report is not None
    assert report.amount == Money(20498, "usd")
    assert report.status == "SUCCESS"
    assert report.customer_email == BUYER_EMAIL
    # BSON dates keep milliseconds; everything else comes back exactly.
    assert report == msgspec.structs.replace(
        expected,
        created_at=to_millisecond(expected.created_at),
        updated_at=to_millisecond(expected.updated_at),
    )


def yen_document(order_id: str) -> Document:
    return {
        "orderId": order_id,
        "stripeSessionId": "cs_yen",
        "amount": 1500,
        "amountMinor": 1500,
        "currency": "jpy",
        "status": "INITIATED",
        "metadata": {"userId": "user_1", "paymentIntent": None},
        "createdAt": datetime(2026, 1, 2, 3, 4, 5),
        "updatedAt": datetime(2026, 1, 2, 3, 4, 5),
        "version": 1,
    }


async def test_zero_decimal_amounts_come_back_in_minor_units(
    mongo_db: Database[Document], status_view: MongoPaymentStatusView
) -> None:
    mongo_db.payments.insert_one(yen_document("ord_yen"))

    report = await status_view.get("ord_yen")

    assert report is not None
    assert report.amount == Money(1500, "jpy")
    assert report.user_id == "user_1"
    assert report.created_at.tzinfo is not None


async def test_an_order_without_a_document_is_none(status_view: MongoPaymentStatusView) -> None:
    assert await status_view.get("ord_unknown") is None


async def test_right_after_checkout_the_status_is_initiated_before_the_projection_ran(
    ledger: PaymentLedger, status_view: MongoPaymentStatusView
) -> None:
    PaymentStory(ledger, "ord_new").initiate()

    report = await GetPaymentStatus(status_view, ledger)(OWNER, "ord_new")

    assert report.status == "INITIATED"


async def test_another_users_payment_is_not_found_through_the_view(
    ledger: PaymentLedger, mongo_db: Database[Document], status_view: MongoPaymentStatusView
) -> None:
    PaymentStory(ledger, "ord_private").initiate()
    project(ledger, mongo_db)

    with pytest.raises(OrderNotFound):
        await GetPaymentStatus(status_view, ledger)(STRANGER, "ord_private")


async def test_with_mongodb_down_the_status_comes_from_the_event_store(
    ledger: PaymentLedger,
) -> None:
    PaymentStory(ledger, "ord_down").initiate().paid()
    nowhere = MongoConnection("mongodb://127.0.0.1:9/paymentdb")
    unreachable = MongoPaymentStatusView(nowhere.database, timeout_seconds=0.2)
    try:
        assert await unreachable.get("ord_down") is None
        report = await GetPaymentStatus(unreachable, ledger)(OWNER, "ord_down")
    finally:
        await unreachable.close()
        nowhere.close()

    assert report.status == "SUCCESS"


async def test_after_a_failure_reads_skip_mongodb_at_once_until_it_is_back(
    ledger: PaymentLedger, tmp_path: Path
) -> None:
    PaymentStory(ledger, "ord_outage").initiate()
    port = free_port()
    server_uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    mongo = MongoConnection(with_database(server_uri, "paymentdb"))
    view = MongoPaymentStatusView(mongo.database, timeout_seconds=1.0, retry_after_seconds=0.5)
    process = None
    try:
        assert await view.get("ord_outage") is None  # pays the timeout once
        for _ in range(5):
            started = time.monotonic()
            report = await GetPaymentStatus(view, ledger)(OWNER, "ord_outage")
            assert time.monotonic() - started < 0.2
            assert report.status == "INITIATED"  # from the event store
        with pytest.raises(PyMongoError):  # while `/ready` still says MongoDB is down
            await MongoProbe(mongo.database).check()

        _, process = start_secantus(tmp_path / "late-mongo", port=port)
        with MongoClient[dict[str, Any]](server_uri) as client:
            client.paymentdb.payments.insert_one(yen_document("ord_back"))
        deadline = time.monotonic() + 20
        while await view.get("ord_back") is None:
            assert time.monotonic() < deadline, "the view never tried MongoDB again"
            await asyncio.sleep(0.1)
    finally:
        await view.close()
        mongo.close()
        if process is not None:
            stop_secantus(process)
