"""The projection loads the payments a batch needs in one query, not one load each."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from pymongo.database import Database

from application.ledger import PaymentLedger
from domain.money import Money
from domain.payment import Payment
from infrastructure.event_store.events_by_payment import events_of
from infrastructure.mongo.payment_view import MongoPaymentView
from infrastructure.mongo.projection_consumer import StatusViewConsumer
from infrastructure.mongo.status_projection import PaymentStatusProjection, replayed
from tests.infrastructure.payment_histories import opened

Document = dict[str, Any]


def test_payments_opened_before_the_projection_started_are_loaded_together(
    ledger: PaymentLedger, mongo_db: Database[Document], monkeypatch: pytest.MonkeyPatch
) -> None:
    payments = [opened(ledger, f"ord_{n}") for n in range(5)]
    position = ledger.last_notification_id()  # the view already has them (another process)
    for payment in payments:
        payment.succeed(f"evt_{payment.order_id}", "pi_1", "b@example.com", Money(20498, "usd"))
        ledger.record(payment)
    loads: list[UUID] = []
    load = PaymentLedger.load

    def counted(self: PaymentLedger, payment_id: UUID, version: int | None = None) -> Any:
        loads.append(payment_id)
        return load(self, payment_id, version)

    monkeypatch.setattr(PaymentLedger, "load", counted)
    consumer = StatusViewConsumer(
        ledger, PaymentStatusProjection(MongoPaymentView(mongo_db), ledger)
    )
    consumer.consume(ledger.recorder.select_notifications(position + 1, 100))

    assert loads == []  # one query for the five, none loaded alone
    documents = {d["orderId"]: d for d in mongo_db.payments.find({}, {"_id": 0})}
    assert {o: (d["status"], d["version"]) for o, d in documents.items()} == {
        p.order_id: ("SUCCESS", 2) for p in payments
    }


def test_a_payment_with_a_gap_is_still_loaded_the_usual_way(ledger: PaymentLedger) -> None:
    payment = opened(ledger, "ord_gap")
    payment.succeed("evt_gap", "pi_1", "b@example.com", Money(20498, "usd"))
    ledger.record(payment)
    notifications = events_of(ledger, {payment.id: 2})[payment.id]
    assert [n.originator_version for n in notifications] == [1, 2]
    restored = replayed(ledger, notifications[1:])  # version 2 alone does not replay
    assert isinstance(restored, Payment) and restored.version == 2
