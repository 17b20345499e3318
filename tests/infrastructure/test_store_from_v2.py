"""A store written before issue 16 (events declared by hand) replays, verifies and grows."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from application.apply_stripe_event import ApplyStripeEvent, Outcome
from application.fulfilment import SettlePayment
from application.ledger import PaymentLedger
from application.stripe_events import decode_stripe_event
from domain.lifecycle import FailedPaymentPolicy
from domain.payment import payment_id_for
from infrastructure.audit.verification import verify_store
from infrastructure.event_store.store import event_store_env
from tests.fakes import FakeCheckoutGateway, FakeInventoryLedger, FakeOrderDirectory
from tests.stripe_payloads import checkout_event, encode

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "stores"
DESCRIPTION = json.loads((FIXTURES / "v2_payments.json").read_text())
PAYMENTS = DESCRIPTION["payments"]
WAITING = "ord_v2_async_open"


@pytest.fixture
def v2_ledger(tmp_path: Path) -> Iterator[PaymentLedger]:
    copy = tmp_path / "v2_payments.db"
    shutil.copyfile(FIXTURES / "v2_payments.db", copy)
    ledger = PaymentLedger(event_store_env(f"sqlite:///{copy}"))
    yield ledger
    ledger.close()


def stored_topics(ledger: PaymentLedger) -> list[str]:
    return [n.topic for n in ledger.recorder.select_notifications(0, 10_000)]


def test_every_payment_replays_as_it_was_written(v2_ledger: PaymentLedger) -> None:
    for order_id, expected in PAYMENTS.items():
        payment = v2_ledger.find(order_id)
        assert payment is not None, order_id
        assert payment.status.value == expected["status"], order_id
        reason = payment.failure_reason.value if payment.failure_reason else None
        assert reason == expected["failure_reason"], order_id
        assert payment.version == expected["version"], order_id
        assert payment.amount.minor == expected["amount_minor"], order_id
        assert payment.amount.currency == expected["currency"], order_id
        assert payment.chain_head == expected["chain_head"], order_id
        assert [type(e).__name__ for e in payment.pending_effects()] == expected["pending_effects"]


def test_its_audit_chain_still_verifies(v2_ledger: PaymentLedger) -> None:
    report, _ = verify_store(v2_ledger)
    assert report.ok, report
    assert report.events == sum(p["event_count"] for p in PAYMENTS.values())


async def test_a_waiting_payment_takes_new_events_on_its_old_chain(
    v2_ledger: PaymentLedger,
) -> None:
    orders, inventory, stripe = FakeOrderDirectory(), FakeInventoryLedger(), FakeCheckoutGateway()
    waiting = PAYMENTS[WAITING]
    paid = checkout_event(
        "checkout.session.async_payment_succeeded",
        WAITING,
        waiting["checkout_session_id"],
        amount_total=waiting["amount_minor"],
        currency=waiting["currency"],
        payment_intent=f"pi_{WAITING}",
    )
    apply = ApplyStripeEvent(v2_ledger, FailedPaymentPolicy.CANCEL)

    assert await apply(decode_stripe_event(encode(paid))) is Outcome.RECORDED
    await SettlePayment(v2_ledger, orders, inventory, stripe)(payment_id_for(WAITING))

    payment = v2_ledger.find(WAITING)
    assert payment is not None
    assert payment.status.value == "SUCCESS"
    assert payment.version == waiting["version"] + 2
    assert orders.statuses_set == [(WAITING, "CONFIRMED")]
    # The old events keep the topics they were stored under; the new ones follow them.
    assert stored_topics(v2_ledger)[: DESCRIPTION["max_notification_id"]] == [
        topic
        for _, topic in sorted(
            (number, topic)
            for p in PAYMENTS.values()
            for number, topic in zip(p["notification_ids"], p["topics"], strict=True)
        )
    ]
    report, _ = verify_store(v2_ledger)
    assert report.ok, report
