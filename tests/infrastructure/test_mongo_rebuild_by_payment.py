"""A rebuild reads the store a payment at a time: no payment loaded again, one document each."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from pymongo.database import Database

from application.ledger import PaymentLedger
from domain.money import Money
from domain.payment import Payment
from infrastructure.mongo import projection_rebuild
from infrastructure.mongo.payment_view import MongoPaymentView
from infrastructure.mongo.projection_rebuild import catch_up, rebuild
from infrastructure.mongo.status_projection import PaymentStatusProjection
from tests.infrastructure.payment_histories import opened, paid

Document = dict[str, Any]
ORDERS = ("ord_a", "ord_b", "ord_c")


def interleaved(ledger: PaymentLedger) -> None:
    """Each payment's events far apart in the log, as a busy store records them."""
    payments = [opened(ledger, order_id) for order_id in ORDERS]
    for payment in payments:
        payment.succeed(f"evt_{payment.order_id}", "pi_1", "b@example.com", Money(20498, "usd"))
        ledger.record(payment)
    for payment in payments:
        payment.record_order_confirmed()
        ledger.record(payment)


def contents(mongo_db: Database[Document]) -> list[Document]:
    return list(mongo_db.payments.find({}, {"_id": 0}).sort("orderId", 1))


def test_a_rebuild_writes_each_payment_once_and_loads_none(
    ledger: PaymentLedger, mongo_db: Database[Document], monkeypatch: pytest.MonkeyPatch
) -> None:
    interleaved(ledger)
    catch_up(ledger, PaymentStatusProjection(MongoPaymentView(mongo_db), ledger))
    followed = contents(mongo_db)

    def no_load(self: PaymentLedger, payment_id: UUID, version: int | None = None) -> Payment:
        raise AssertionError("a rebuild replays each payment from its own events")

    monkeypatch.setattr(PaymentLedger, "load", no_load)
    summary = rebuild(ledger, PaymentStatusProjection(MongoPaymentView(mongo_db), ledger))

    assert contents(mongo_db) == followed
    assert [d["version"] for d in followed] == [3, 3, 3]
    assert summary.events == ledger.last_notification_id() == 9
    assert summary.documents_written == len(ORDERS)


def test_what_is_recorded_during_a_rebuild_is_caught_up_before_the_swap(
    ledger: PaymentLedger, mongo_db: Database[Document], monkeypatch: pytest.MonkeyPatch
) -> None:
    interleaved(ledger)
    inserted = projection_rebuild._insert_by_payment

    def then_more_events(*args: Any) -> int:
        events = inserted(*args)
        paid(ledger, "ord_late")  # after the pass read the store, before the swap
        return events

    monkeypatch.setattr(projection_rebuild, "_insert_by_payment", then_more_events)
    summary = rebuild(ledger, PaymentStatusProjection(MongoPaymentView(mongo_db), ledger))

    versions = {d["orderId"]: d["version"] for d in contents(mongo_db)}
    assert versions == {"ord_a": 3, "ord_b": 3, "ord_c": 3, "ord_late": 3}
    assert summary.events == ledger.last_notification_id() == 12
    view = MongoPaymentView(mongo_db)
    assert view.max_tracking_id(ledger.name) == ledger.last_notification_id()
