"""The MongoDB status view shows what went back (issue 12): refunds and the dispute."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import pytest
from pymongo.database import Database

from application.ledger import PaymentLedger
from application.ports import DisputeReport
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


async def test_a_refunded_payment_written_before_refunds_were_shown_is_refunded_in_full(
    mongo_db: Database[Document], status_view: MongoPaymentStatusView
) -> None:
    mongo_db.payments.insert_one(
        {
            "orderId": "ord_old",
            "stripeSessionId": "cs_old",
            "amount": 204.98,
            "amountMinor": 20498,
            "currency": "usd",
            "status": "REFUNDED",
            "metadata": {"userId": "user_1", "paymentIntent": "pi_old"},
            "createdAt": datetime(2026, 1, 2, 3, 4, 5),
            "updatedAt": datetime(2026, 1, 2, 3, 4, 5),
            "version": 4,
        }
    )

    report = await status_view.get("ord_old")

    assert report is not None
    assert (report.refunded_amount, report.dispute) == (Money(20498, "usd"), None)


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


@pytest.mark.parametrize("status", ["FAILED", "SUCCESS", "PARTIALLY_REFUNDED"])
async def test_a_document_written_before_refund_owed_is_answered_by_the_event_store(
    mongo_db: Database[Document], status_view: MongoPaymentStatusView, status: str
) -> None:
    # Whether such a payment owes money back is not in it: GetPaymentStatus then replays
    # the payment from the store, the view's source, until the projection rewrites it.
    mongo_db.payments.insert_one({**written_before_refund_owed("ord_old"), "status": status})

    assert await status_view.get("ord_old") is None


@pytest.mark.parametrize("status", ["INITIATED", "REFUNDED"])
async def test_a_document_written_before_refund_owed_that_cannot_owe_is_read(
    mongo_db: Database[Document], status_view: MongoPaymentStatusView, status: str
) -> None:
    mongo_db.payments.insert_one({**written_before_refund_owed("ord_old"), "status": status})

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
