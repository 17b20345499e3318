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
from domain.audit_chain import digest_of
from domain.lifecycle import FailedPaymentPolicy, FailureReason
from domain.payment import Payment, payment_id_for
from infrastructure.audit.chain_report import BreakKind
from infrastructure.audit.verification import verify_store
from infrastructure.event_store.store import event_store_env
from tests.fakes import FakeCheckoutGateway, FakeInventory, FakeOrderDirectory
from tests.infrastructure.store_tampering import StoreTamperer
from tests.stripe_payloads import checkout_event, encode

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "stores"
DESCRIPTION = json.loads((FIXTURES / "v2_payments.json").read_text())
PAYMENTS = DESCRIPTION["payments"]
WAITING = "ord_v2_async_open"
# Renamed in issue 16 (a state's name, now in the past tense), stored under the old topic.
FORMER_TOPIC = "domain.payment:Payment.AsyncPaymentPending"
AWAITED = Payment.declared_event("AsyncPaymentAwaited")


@pytest.fixture
def v2_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "v2_payments.db"
    shutil.copyfile(FIXTURES / "v2_payments.db", copy)
    return copy


@pytest.fixture
def v2_ledger(v2_copy: Path) -> Iterator[PaymentLedger]:
    ledger = PaymentLedger(event_store_env(f"sqlite:///{v2_copy}"))
    yield ledger
    ledger.close()


@pytest.fixture
def tamperer(v2_copy: Path) -> StoreTamperer:
    return StoreTamperer(f"sqlite:///{v2_copy}")


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
    orders, inventory, stripe = FakeOrderDirectory(), FakeInventory(), FakeCheckoutGateway()
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


def test_an_event_of_a_renamed_class_replays_as_the_renamed_class(
    v2_ledger: PaymentLedger,
) -> None:
    (waiting, stored) = list(v2_ledger.history(payment_id_for(WAITING)))
    assert FORMER_TOPIC in DESCRIPTION["topics"]
    assert PAYMENTS[WAITING]["topics"][1] == FORMER_TOPIC
    assert type(stored) is AWAITED
    # Its hash was chained under the name it was recorded as, not the class's new one.
    assert digest_of(stored, "Payment.AsyncPaymentPending") == vars(stored)["chain_hash"]
    assert digest_of(stored) != vars(stored)["chain_hash"]
    assert vars(stored)["previous_hash"] == vars(waiting)["chain_hash"]


@pytest.mark.parametrize(
    "alias",
    [
        "application.ledger:Payment.AsyncPaymentAwaited",  # resolves to the class: replayed
        "application.ledger:Payment.AsyncPaymentPending",  # the old name, not where it lived
        "domain.payment:Payment.AsyncPaymentAwaiting",  # a name that was never registered
    ],
)
def test_an_alias_that_was_never_a_topic_of_the_class_is_still_tampering(
    v2_ledger: PaymentLedger, tamperer: StoreTamperer, alias: str
) -> None:
    tamperer.set_topic(payment_id_for(WAITING), 2, alias)

    report, _ = verify_store(v2_ledger)

    assert report.first_break is not None
    first = report.first_break
    assert (first.order_id, first.version, first.kind) == (WAITING, 2, BreakKind.FOREIGN_TOPIC)
    assert report.broken_payments == 1


def test_moving_an_old_event_to_the_new_topic_breaks_its_hash(
    v2_ledger: PaymentLedger, tamperer: StoreTamperer
) -> None:
    """Both topics are the class's own, but the chain hashed the one it was stored under."""
    tamperer.set_topic(payment_id_for(WAITING), 2, "domain.payment:Payment.AsyncPaymentAwaited")

    report, _ = verify_store(v2_ledger)

    assert report.first_break is not None
    first = report.first_break
    assert (first.order_id, first.version, first.kind) == (WAITING, 2, BreakKind.ALTERED)


def test_new_events_of_the_renamed_class_are_stored_and_chained_under_its_new_name(
    v2_ledger: PaymentLedger,
) -> None:
    waiting = v2_ledger.find(WAITING)
    assert waiting is not None
    waiting.await_async_payment("evt_second_unpaid", f"pi_{WAITING}")  # another Stripe event
    v2_ledger.record(waiting)

    _, old, new = v2_ledger.history(payment_id_for(WAITING))
    topics = [n.topic for n in v2_ledger.recorder.select_events(payment_id_for(WAITING))]
    assert topics[1:] == [FORMER_TOPIC, "domain.payment:Payment.AsyncPaymentAwaited"]
    assert type(old) is type(new) is AWAITED
    assert digest_of(new) == vars(new)["chain_hash"]
    assert vars(new)["previous_hash"] == vars(old)["chain_hash"]
    report, _ = verify_store(v2_ledger)
    assert report.ok, report


def test_a_reason_stored_as_text_reads_back_as_the_failure_reason(
    v2_ledger: PaymentLedger,
) -> None:
    failed = [
        event
        for order_id in ("ord_v2_declined", "ord_v2_expired", "ord_v2_mismatch")
        for event in v2_ledger.history(payment_id_for(order_id))
        if type(event) is Payment.declared_event("Failed")
    ]
    assert [vars(event)["reason"] for event in failed] == [
        FailureReason.PAYMENT_FAILED,
        FailureReason.EXPIRED,
        FailureReason.AMOUNT_MISMATCH,
    ]
