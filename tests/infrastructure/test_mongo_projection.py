"""The status view after every lifecycle row, on a real MongoDB wire server and
both event stores: each document shows what the payment's owner would see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pymongo.database import Database

from application.ledger import PaymentLedger
from domain.lifecycle import FailedPaymentPolicy
from infrastructure.mongo.payment_view import MongoPaymentView
from infrastructure.mongo.projection_rebuild import catch_up
from infrastructure.mongo.status_projection import PaymentStatusProjection
from tests.infrastructure.payment_story import BUYER_EMAIL, PaymentStory

Document = dict[str, Any]
RETRY = FailedPaymentPolicy.RETRY


@pytest.fixture
def projection(mongo_db: Database[Document], ledger: PaymentLedger) -> PaymentStatusProjection:
    view = MongoPaymentView(mongo_db)
    view.ensure_indexes()
    return PaymentStatusProjection(view, ledger)


def shown(mongo_db: Database[Document], order_id: str) -> Document:
    document = mongo_db.payments.find_one({"orderId": order_id}, {"_id": 0})
    assert document is not None, f"no view document for {order_id}"
    return document


def project(story: PaymentStory, projection: PaymentStatusProjection) -> None:
    catch_up(story.ledger, projection)


Step = tuple[Callable[[PaymentStory], object], str]

LIFECYCLE: dict[str, list[Step]] = {
    "paid": [
        (lambda s: s.paid(), "SUCCESS"),
        (lambda s: s.order_confirmed(), "SUCCESS"),
    ],
    "unpaid completion then async success": [
        (lambda s: s.stripe("checkout.session.completed", payment_status="unpaid"), "INITIATED"),
        (lambda s: s.stripe("checkout.session.async_payment_succeeded"), "SUCCESS"),
        (lambda s: s.order_confirmed(), "SUCCESS"),
    ],
    "expired": [
        (lambda s: s.stripe("checkout.session.expired"), "FAILED"),
        (lambda s: s.stock_released(), "FAILED"),
        (lambda s: s.order_cancelled(), "FAILED"),
    ],
    "async payment failed": [
        (lambda s: s.stripe("checkout.session.completed", payment_status="unpaid"), "INITIATED"),
        (lambda s: s.stripe("checkout.session.async_payment_failed"), "FAILED"),
        (lambda s: s.stock_released(), "FAILED"),
        (lambda s: s.order_cancelled(), "FAILED"),
    ],
    "payment_failed under cancel": [
        (lambda s: s.stripe("payment_intent.payment_failed"), "FAILED"),
        (lambda s: s.checkout_closed(), "FAILED"),
        (lambda s: s.stock_released(), "FAILED"),
        (lambda s: s.order_cancelled(), "FAILED"),
    ],
    "payment_failed under retry, then paid": [
        (lambda s: s.stripe("payment_intent.payment_failed", policy=RETRY), "INITIATED"),
        (lambda s: s.paid(), "SUCCESS"),
        (lambda s: s.order_confirmed(), "SUCCESS"),
    ],
    "paid after failure: refund requested, then refunded": [
        (lambda s: s.stripe("checkout.session.expired"), "FAILED"),
        (lambda s: s.paid(), "FAILED"),
        (lambda s: s.stock_released(), "FAILED"),
        (lambda s: s.order_cancelled(), "FAILED"),
        (lambda s: s.refunded(), "REFUNDED"),
    ],
}


@pytest.mark.parametrize("row", list(LIFECYCLE), ids=list(LIFECYCLE))
def test_the_view_follows_every_lifecycle_row(
    row: str,
    ledger: PaymentLedger,
    projection: PaymentStatusProjection,
    mongo_db: Database[Document],
) -> None:
    story = PaymentStory(ledger, "ord_row").initiate()
    project(story, projection)
    assert shown(mongo_db, "ord_row")["status"] == "INITIATED"
    for act, expected_status in LIFECYCLE[row]:
        act(story)
        project(story, projection)
        document = shown(mongo_db, "ord_row")
        assert document["status"] == expected_status
        assert document["version"] == story.payment().version
    assert mongo_db.payments.count_documents({}) == 1


def test_a_document_has_the_seed_payment_shape(
    ledger: PaymentLedger, projection: PaymentStatusProjection, mongo_db: Database[Document]
) -> None:
    story = PaymentStory(ledger, "ord_shape").initiate()
    story.paid()
    project(story, projection)

    document = shown(mongo_db, "ord_shape")
    created = document.pop("createdAt")
    updated = document.pop("updatedAt")
    assert document == {
        "orderId": "ord_shape",
        "stripeSessionId": "cs_test_ord_shape",
        "amount": 204.98,
        "amountMinor": 20498,
        "currency": "usd",
        "status": "SUCCESS",
        "refundedAmountMinor": 0,
        "dispute": None,
        "refundOwedMinor": 0,
        "refundCurrency": "usd",
        "metadata": {
            "paymentIntent": "pi_test_1",
            "customerEmail": BUYER_EMAIL,
            "userId": "user_1",
            "userEmail": "user@example.com",
        },
        "version": 2,
    }
    assert created.replace(microsecond=0) == story.payment().created_on.replace(microsecond=0)
    assert updated >= created


def test_the_view_indexes_orders_uniquely_and_by_user_and_status(
    projection: PaymentStatusProjection, mongo_db: Database[Document]
) -> None:
    indexes = {
        tuple(k for k, _ in spec["key"]): spec
        for spec in mongo_db.payments.index_information().values()
    }
    assert indexes[("orderId",)].get("unique") is True
    assert ("metadata.userId",) in indexes
    assert ("status",) in indexes


def test_each_order_has_its_own_document(
    ledger: PaymentLedger, projection: PaymentStatusProjection, mongo_db: Database[Document]
) -> None:
    mine = PaymentStory(ledger, "ord_mine", "user_1").initiate()
    theirs = PaymentStory(ledger, "ord_theirs", "user_2").initiate()
    mine.paid()
    theirs.stripe("checkout.session.expired")
    project(mine, projection)

    assert shown(mongo_db, "ord_mine")["status"] == "SUCCESS"
    assert shown(mongo_db, "ord_theirs")["status"] == "FAILED"
    assert shown(mongo_db, "ord_theirs")["metadata"]["userId"] == "user_2"
    assert mongo_db.payments.count_documents({"metadata.userId": "user_1"}) == 1
