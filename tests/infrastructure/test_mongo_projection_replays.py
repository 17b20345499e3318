"""Duplicated, replayed and reordered events never move the status view backwards."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.persistence import Tracking
from pymongo.database import Database

from application.apply_stripe_event import Outcome
from application.ledger import PaymentLedger
from infrastructure.mongo.payment_view import MongoPaymentView
from infrastructure.mongo.projection_rebuild import catch_up
from infrastructure.mongo.status_projection import PaymentStatusProjection
from tests.infrastructure.payment_story import PaymentStory

Document = dict[str, Any]


@pytest.fixture
def view(mongo_db: Database[Document]) -> MongoPaymentView:
    view = MongoPaymentView(mongo_db)
    view.ensure_indexes()
    return view


def status_of(mongo_db: Database[Document], order_id: str) -> tuple[str, int]:
    document = mongo_db.payments.find_one({"orderId": order_id})
    assert document is not None
    return document["status"], document["version"]


def test_a_webhook_delivered_twice_is_shown_once(
    ledger: PaymentLedger, view: MongoPaymentView, mongo_db: Database[Document]
) -> None:
    story = PaymentStory(ledger, "ord_dup").initiate()
    assert story.paid(evt_id="evt_dup_1") is Outcome.RECORDED
    assert story.paid(evt_id="evt_dup_1") is Outcome.DUPLICATE
    summary = catch_up(ledger, PaymentStatusProjection(view, ledger))

    assert status_of(mongo_db, "ord_dup") == ("SUCCESS", 2)
    assert summary.events == 2


def test_a_late_expiry_after_success_leaves_the_view_at_success(
    ledger: PaymentLedger, view: MongoPaymentView, mongo_db: Database[Document]
) -> None:
    story = PaymentStory(ledger, "ord_late").initiate()
    story.paid()
    story.stripe("checkout.session.expired")
    story.stripe("checkout.session.async_payment_failed")
    catch_up(ledger, PaymentStatusProjection(view, ledger))

    assert status_of(mongo_db, "ord_late") == ("SUCCESS", 2)


def test_replaying_every_event_again_changes_nothing(
    ledger: PaymentLedger, view: MongoPaymentView, mongo_db: Database[Document]
) -> None:
    story = PaymentStory(ledger, "ord_replay").initiate()
    story.stripe("checkout.session.expired")
    story.stock_released()
    catch_up(ledger, PaymentStatusProjection(view, ledger))
    before = mongo_db.payments.find_one({"orderId": "ord_replay"})

    # A crash between a document write and its tracking write: everything is seen again.
    replaying = PaymentStatusProjection(view, ledger)
    for notification in ledger.recorder.select_notifications(start=None, limit=100):
        event = ledger.mapper.to_domain_event(notification)
        replaying.process_event(event, Tracking(ledger.name, notification.id))

    assert list(mongo_db.payments.find({"orderId": "ord_replay"})) == [before]
    assert view.max_tracking_id(ledger.name) == ledger.last_notification_id()


def test_an_older_event_processed_after_a_newer_one_is_ignored(
    ledger: PaymentLedger, view: MongoPaymentView, mongo_db: Database[Document]
) -> None:
    story = PaymentStory(ledger, "ord_order").initiate()
    story.paid()
    story.order_confirmed()
    notifications = ledger.recorder.select_notifications(start=None, limit=100)
    projection = PaymentStatusProjection(view, ledger)

    for notification in reversed(notifications):
        event = ledger.mapper.to_domain_event(notification)
        projection.process_event(event, Tracking(ledger.name, notification.id))

    assert status_of(mongo_db, "ord_order") == ("SUCCESS", 3)
    assert mongo_db.payments.count_documents({}) == 1
    assert view.max_tracking_id(ledger.name) == notifications[-1].id


def test_the_tracked_position_never_moves_back(view: MongoPaymentView) -> None:
    view.insert_tracking(Tracking("Payments", 7))
    view.insert_tracking(Tracking("Payments", 3))

    assert view.max_tracking_id("Payments") == 7
    assert view.max_tracking_id("Other") is None


def test_a_position_stored_before_views_had_generations_moves_on(
    view: MongoPaymentView, mongo_db: Database[Document]
) -> None:
    mongo_db.projection_tracking.insert_one({"_id": "Payments", "notificationId": 5})

    assert view.max_tracking_id("Payments") == 5
    view.insert_tracking(Tracking("Payments", 9))

    assert view.max_tracking_id("Payments") == 9


def test_a_fresh_projection_resumes_after_the_stored_position(
    ledger: PaymentLedger, view: MongoPaymentView, mongo_db: Database[Document]
) -> None:
    story = PaymentStory(ledger, "ord_resume").initiate()
    catch_up(ledger, PaymentStatusProjection(view, ledger))
    story.paid()
    story.order_confirmed()

    after_restart = MongoPaymentView(mongo_db)
    summary = catch_up(ledger, PaymentStatusProjection(after_restart, ledger))

    assert summary.events == 2  # only what was written after the stored position
    assert status_of(mongo_db, "ord_resume") == ("SUCCESS", 3)
    assert mongo_db.payments.count_documents({}) == 1
    assert after_restart.max_tracking_id(ledger.name) == ledger.last_notification_id()


def test_an_async_success_before_its_unpaid_completion_shows_success(
    ledger: PaymentLedger, view: MongoPaymentView, mongo_db: Database[Document]
) -> None:
    story = PaymentStory(ledger, "ord_swapped").initiate()
    story.stripe("checkout.session.async_payment_succeeded")
    story.stripe("checkout.session.completed", payment_status="unpaid")
    catch_up(ledger, PaymentStatusProjection(view, ledger))

    assert status_of(mongo_db, "ord_swapped") == ("SUCCESS", 2)


def test_a_batch_replayed_over_a_newer_view_changes_nothing(
    ledger: PaymentLedger, view: MongoPaymentView, mongo_db: Database[Document]
) -> None:
    PaymentStory(ledger, "ord_batch_a").initiate().paid()
    PaymentStory(ledger, "ord_batch_b").initiate().stripe("checkout.session.expired")
    catch_up(ledger, PaymentStatusProjection(view, ledger))
    before = list(mongo_db.payments.find({}, {"_id": 0}).sort("orderId", 1))
    notifications = ledger.recorder.select_notifications(start=None, limit=100)
    initiated_only = [n for n in notifications if n.originator_version == 1]

    PaymentStatusProjection(view, ledger).process_batch(
        [(ledger.mapper.to_domain_event(n), Tracking(ledger.name, n.id)) for n in initiated_only]
    )

    assert list(mongo_db.payments.find({}, {"_id": 0}).sort("orderId", 1)) == before
    assert view.max_tracking_id(ledger.name) == ledger.last_notification_id()
