"""The MongoDB status view shows what went back (issue 12): refunds and the dispute."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import pytest
from pymongo.database import Database

from application.ledger import PaymentLedger
from application.ports import DisputeReport, PaymentStatusReport
from application.status import report_of
from domain.dispute import Dispute
from domain.money import Money
from domain.refund import OWED_REFUND, RefundReport, RefundStatus
from infrastructure.mongo.status_view import MongoPaymentStatusView
from tests.infrastructure.payment_story import PaymentStory
from tests.infrastructure.test_mongo_status_view import (
    project,
    status_view,
    to_millisecond,
)

Document = dict[str, Any]
__all__ = ["status_view"]  # the fixture, used by name


async def test_refunds_and_the_dispute_are_read_back_as_the_payments_report(
    ledger: PaymentLedger, mongo_db: Database[Document], status_view: MongoPaymentStatusView
) -> None:
    story = PaymentStory(ledger, "ord_back").initiate()
    story.paid()
    payment = story.payment()
    payment.request_refund("rf_1", Money(5000, "usd"), None)
    payment.record_refund_sent("rf_1", "re_1", RefundStatus.SUCCEEDED)
    payment.report_dispute("evt_dp", Dispute("dp_1", Money(15498, "usd"), "fraudulent", "lost"))
    ledger.record(payment)
    project(ledger, mongo_db)

    report = await status_view.get("ord_back")

    expected = report_of(story.payment())
    assert report is not None
    assert (report.status, report.refunded_amount) == ("REFUNDED", Money(20498, "usd"))
    assert report.dispute == DisputeReport("lost", Money(15498, "usd"), "fraudulent")
    assert report == msgspec.structs.replace(
        expected,
        created_at=to_millisecond(expected.created_at),
        updated_at=to_millisecond(expected.updated_at),
    )


async def test_late_money_whose_refund_failed_is_read_back_as_owed(
    ledger: PaymentLedger, mongo_db: Database[Document], status_view: MongoPaymentStatusView
) -> None:
    story = PaymentStory(ledger, "ord_owed").initiate()
    story.stripe("checkout.session.expired")
    story.paid()
    payment = story.payment()
    payment.record_refunded("re_1", RefundStatus.PENDING)
    failed = RefundReport("re_1", Money(20498, "usd"), RefundStatus.FAILED, OWED_REFUND)
    payment.report_refund("evt_failed", failed)
    ledger.record(payment)
    project(ledger, mongo_db)

    report = await status_view.get("ord_owed")

    assert report is not None
    assert (report.status, report.refunded_amount) == ("FAILED", None)
    assert report.refund_owed == Money(20498, "usd")
    expected = report_of(story.payment())  # what the event store would answer
    assert report == msgspec.structs.replace(
        expected,
        created_at=to_millisecond(expected.created_at),
        updated_at=to_millisecond(expected.updated_at),
    )
    stored = mongo_db.payments.find_one({"orderId": "ord_owed"})
    assert stored is not None and stored["refundOwedMinor"] == 20498


async def test_money_in_another_currency_is_read_back_in_the_currency_it_came_in(
    ledger: PaymentLedger, mongo_db: Database[Document], status_view: MongoPaymentStatusView
) -> None:
    """An order in USD paid in JPY: refunded as received, in yen; the yen are not dollars
    (nor cents: JPY has no minor unit), and the report says which currency they are in."""
    story = PaymentStory(ledger, "ord_yen").initiate()
    story.stripe("checkout.session.completed", amount_total=3000, currency="jpy")
    project(ledger, mongo_db)

    owed = await status_view.get("ord_yen")

    assert owed is not None
    assert (owed.status, owed.amount, owed.refund_currency) == (
        "FAILED",
        Money(20498, "usd"),
        "jpy",
    )
    assert (owed.refund_owed, owed.refunded_amount) == (Money(3000, "jpy"), None)
    assert owed == in_milliseconds(report_of(story.payment()))

    story.refunded()
    project(ledger, mongo_db)
    refunded = await status_view.get("ord_yen")

    assert refunded is not None
    assert (refunded.status, refunded.refunded_amount, refunded.refund_owed) == (
        "REFUNDED",
        Money(3000, "jpy"),
        None,
    )
    assert refunded == in_milliseconds(report_of(story.payment()))
    stored = mongo_db.payments.find_one({"orderId": "ord_yen"})
    assert stored is not None
    assert (stored["currency"], stored["refundCurrency"]) == ("usd", "jpy")


@pytest.mark.parametrize("status", ["FAILED", "REFUNDED"])
async def test_a_document_written_before_refund_currency_that_may_differ_is_not_read(
    mongo_db: Database[Document], status_view: MongoPaymentStatusView, status: str
) -> None:
    # Money that came in another currency leaves the payment FAILED, or REFUNDED once its
    # refund succeeded; such a document cannot say in which currency its figures are.
    document = {**written_before_refund_owed("ord_old"), "refundOwedMinor": 0, "status": status}
    mongo_db.payments.insert_one(document)

    assert await status_view.get("ord_old") is None


@pytest.mark.parametrize("status", ["INITIATED", "SUCCESS", "PARTIALLY_REFUNDED"])
async def test_a_document_written_before_refund_currency_is_in_the_orders_currency(
    mongo_db: Database[Document], status_view: MongoPaymentStatusView, status: str
) -> None:
    # Only the order's exact total and currency makes a payment SUCCESS.
    document = {**written_before_refund_owed("ord_old"), "refundOwedMinor": 0, "status": status}
    mongo_db.payments.insert_one(document)

    report = await status_view.get("ord_old")

    assert report is not None and report.refund_currency == "usd"


def in_milliseconds(report: PaymentStatusReport) -> PaymentStatusReport:
    """What BSON keeps of a report's times."""
    return msgspec.structs.replace(
        report,
        created_at=to_millisecond(report.created_at),
        updated_at=to_millisecond(report.updated_at),
    )


@pytest.mark.parametrize("status", ["FAILED", "SUCCESS", "PARTIALLY_REFUNDED"])
async def test_a_document_written_before_refund_owed_is_answered_by_the_event_store(
    mongo_db: Database[Document], status_view: MongoPaymentStatusView, status: str
) -> None:
    # Whether such a payment owes money back is not in it: GetPaymentStatus then replays
    # the payment from the store, the view's source, until the projection rewrites it.
    mongo_db.payments.insert_one({**written_before_refund_owed("ord_old"), "status": status})

    assert await status_view.get("ord_old") is None


async def test_a_document_written_before_refund_owed_that_cannot_owe_is_read(
    mongo_db: Database[Document], status_view: MongoPaymentStatusView
) -> None:
    # INITIATED: nothing arrived. (A REFUNDED one, money that may have come in another
    # currency, is not read until rewritten with `refundCurrency`: tested above.)
    document = {**written_before_refund_owed("ord_old"), "status": "INITIATED"}
    mongo_db.payments.insert_one(document)

    report = await status_view.get("ord_old")

    assert report is not None and report.refund_owed is None


def written_before_refund_owed(order_id: str) -> Document:
    return {
        "orderId": order_id,
        "stripeSessionId": "cs_old",
        "amount": 204.98,
        "amountMinor": 20498,
        "currency": "usd",
        "refundedAmountMinor": 0,
        "dispute": None,
        "metadata": {"userId": "user_1", "paymentIntent": "pi_old"},
        "createdAt": datetime(2026, 1, 2, 3, 4, 5),
        "updatedAt": datetime(2026, 1, 2, 3, 4, 5),
        "version": 4,
    }
