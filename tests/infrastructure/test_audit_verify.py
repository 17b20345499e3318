"""`verify_store` passes an untouched store and names the first tampered payment and version."""

from __future__ import annotations

import pytest

from application.ledger import PaymentLedger
from domain.lifecycle import PaymentStatus
from domain.payment import payment_id_for
from infrastructure.audit.chain_report import BreakKind
from infrastructure.audit.verification import verify_store
from tests.infrastructure.payment_histories import (
    expired,
    late_and_stray_refunded,
    opened,
    paid,
    refunded_in_every_way,
)
from tests.infrastructure.store_tampering import (
    ALIASED_SUCCESS_TOPIC,
    StoreTamperer,
    forged_success,
)


@pytest.fixture
def tamperer(store_url: str) -> StoreTamperer:
    return StoreTamperer(store_url)


@pytest.fixture
def three_payments(ledger: PaymentLedger) -> PaymentLedger:
    paid(ledger, "ord_a")
    expired(ledger, "ord_b")
    paid(ledger, "ord_c")
    return ledger


def test_an_untouched_store_verifies(three_payments: PaymentLedger) -> None:
    report, _ = verify_store(three_payments)
    assert report.ok
    assert (report.events, report.payments) == (11, 3)
    assert report.sentence().startswith("chain intact: 11 events of 3 payments")


def test_an_empty_store_verifies(ledger: PaymentLedger) -> None:
    report, _ = verify_store(ledger)
    assert report.ok and report.events == 0


def test_a_changed_amount_is_named_by_order_and_version(
    three_payments: PaymentLedger, tamperer: StoreTamperer
) -> None:
    payment_id = payment_id_for("ord_b")
    state = tamperer.state(payment_id, 1)
    assert b'"minor":20498' in state
    tamperer.set_state(payment_id, 1, state.replace(b'"minor":20498', b'"minor":98', 1))

    report, _ = verify_store(three_payments)

    assert not report.ok
    first = report.first_break
    assert first is not None
    assert (first.order_id, first.payment_id, first.version) == (
        "ord_b",
        str(payment_id),
        1,
    )
    assert first.kind is BreakKind.ALTERED
    assert "order ord_b" in report.sentence() and "version 1" in report.sentence()


def test_a_changed_later_event_is_named(
    three_payments: PaymentLedger, tamperer: StoreTamperer
) -> None:
    payment_id = payment_id_for("ord_a")
    state = tamperer.state(payment_id, 2)
    tamperer.set_state(payment_id, 2, state.replace(b"pi_ord_a", b"pi_attacker"))

    report, _ = verify_store(three_payments)

    assert report.first_break is not None
    assert (report.first_break.order_id, report.first_break.version) == ("ord_a", 2)


def test_unreadable_json_is_reported_not_raised(
    three_payments: PaymentLedger, tamperer: StoreTamperer
) -> None:
    tamperer.set_state(payment_id_for("ord_c"), 2, b"{not json")
    report, _ = verify_store(three_payments)
    assert report.first_break is not None
    assert (report.first_break.order_id, report.first_break.version) == ("ord_c", 2)
    assert report.first_break.kind is BreakKind.ALTERED


def test_a_deleted_event_is_named(three_payments: PaymentLedger, tamperer: StoreTamperer) -> None:
    tamperer.delete(payment_id_for("ord_b"), 3)

    report, _ = verify_store(three_payments)

    assert report.first_break is not None
    assert (report.first_break.order_id, report.first_break.version) == ("ord_b", 3)
    assert report.first_break.kind is BreakKind.MISSING


def test_a_deleted_first_event_is_named(
    three_payments: PaymentLedger, tamperer: StoreTamperer
) -> None:
    tamperer.delete(payment_id_for("ord_a"), 1)
    report, _ = verify_store(three_payments)
    assert report.first_break is not None
    assert (report.first_break.payment_id, report.first_break.version) == (
        str(payment_id_for("ord_a")),
        1,
    )


def test_two_renumbered_events_are_caught(
    three_payments: PaymentLedger, tamperer: StoreTamperer
) -> None:
    tamperer.swap_versions(payment_id_for("ord_b"), 2, 3)
    report, _ = verify_store(three_payments)
    assert report.first_break is not None
    assert (report.first_break.order_id, report.first_break.version) == ("ord_b", 2)


def test_two_events_with_swapped_contents_are_caught(
    three_payments: PaymentLedger, tamperer: StoreTamperer
) -> None:
    tamperer.swap_contents(payment_id_for("ord_b"), 3, 4)
    report, _ = verify_store(three_payments)
    assert report.first_break is not None
    assert (report.first_break.order_id, report.first_break.version) == ("ord_b", 3)


def test_every_broken_payment_is_counted_but_the_first_is_named(
    three_payments: PaymentLedger, tamperer: StoreTamperer
) -> None:
    tamperer.delete(payment_id_for("ord_c"), 2)
    tamperer.delete(payment_id_for("ord_a"), 3)
    tamperer.delete(payment_id_for("ord_a"), 2)  # ord_a is now cut short: undetectable alone
    tamperer.delete(payment_id_for("ord_b"), 2)

    report, _ = verify_store(three_payments)

    assert report.broken_payments == 2
    assert [b.order_id for b in report.breaks] == ["ord_b", "ord_c"]


def test_a_consistent_rewrite_passes_without_a_checkpoint(
    three_payments: PaymentLedger, tamperer: StoreTamperer
) -> None:
    """The reason checkpoints exist: recomputed hashes fool a plain walk."""
    from domain.money import Money

    tamperer.rewrite_consistently(three_payments, payment_id_for("ord_a"), amount=Money(100, "usd"))
    rewritten = three_payments.find("ord_a")
    assert rewritten is not None and rewritten.amount == Money(100, "usd")
    report, _ = verify_store(three_payments)
    assert report.ok


@pytest.mark.parametrize("chain_hash", ["garbage", "recomputed"])
def test_an_event_stored_under_an_aliased_topic_is_reported(
    ledger: PaymentLedger, tamperer: StoreTamperer, chain_hash: str
) -> None:
    """`application.ledger:Payment.Succeeded` resolves to the same class and is replayed."""
    opened(ledger, "ord_a")
    paid(ledger, "ord_b")
    state = forged_success(ledger, "ord_a", intact=chain_hash == "recomputed")
    tamperer.insert(payment_id_for("ord_a"), 2, ALIASED_SUCCESS_TOPIC, state)
    forged = ledger.find("ord_a")
    assert forged is not None and forged.status is PaymentStatus.SUCCESS

    report, _ = verify_store(ledger)

    assert not report.ok
    assert report.events == 5
    first = report.first_break
    assert first is not None
    assert (first.order_id, first.version, first.kind) == ("ord_a", 2, BreakKind.FOREIGN_TOPIC)
    assert ALIASED_SUCCESS_TOPIC in report.sentence()


def test_breaks_are_listed_in_the_order_they_were_stored_whatever_the_payment_ids(
    ledger: PaymentLedger, tamperer: StoreTamperer
) -> None:
    """The store is read a payment at a time, by payment id; the list still starts with the
    break stored first."""
    orders = [f"ord_{n}" for n in range(6)]
    for order_id in orders:
        paid(ledger, order_id)
    for order_id in orders:
        tamperer.delete(payment_id_for(order_id), 2)

    report, _ = verify_store(ledger)

    assert [b.order_id for b in report.breaks] == orders
    assert report.broken_payments == 6


def test_a_verification_keeps_no_chain_heads_unless_sealing(
    three_payments: PaymentLedger,
) -> None:
    report, verifier = verify_store(three_payments)
    assert report.ok and report.payments == 3
    assert verifier.heads == {}  # one payment at a time: memory does not grow with the store

    _, sealing = verify_store(three_payments, keep_heads=True)
    assert set(sealing.heads) == {payment_id_for(o) for o in ("ord_a", "ord_b", "ord_c")}


@pytest.fixture
def money_back(ledger: PaymentLedger) -> PaymentLedger:
    """Every refund and dispute event type, on two payments of 12 and 10 events."""
    refunded_in_every_way(ledger, "ord_m")
    late_and_stray_refunded(ledger, "ord_l")
    return ledger


def test_refund_and_dispute_events_verify(money_back: PaymentLedger) -> None:
    report, _ = verify_store(money_back)
    assert report.ok, report.sentence()
    assert (report.events, report.payments) == (22, 2)


@pytest.mark.parametrize(
    ("order_id", "version", "event_type", "recorded", "forged"),
    [
        ("ord_m", 4, "RefundOrdered", b'"minor":1000', b'"minor":9000'),
        ("ord_m", 5, "RefundReported", b'"refund_status":"succeeded"', b'"refund_status":"failed"'),
        ("ord_m", 7, "RefundRefused", b"charge already refunded", b"never sent"),
        ("ord_m", 8, "ExternalRefundRecorded", b'"minor":700', b'"minor":70'),
        ("ord_m", 10, "DisputeOpened", b'"needs_response"', b'"lost"'),
        ("ord_m", 11, "DisputeUpdated", b'"under_review"', b'"warning_closed"'),
        ("ord_m", 12, "DisputeClosed", b'"won"', b'"lost"'),
        ("ord_l", 6, "RefundRequested", b'"minor":20498', b'"minor":2'),
        ("ord_l", 7, "Refunded", b'"refund_status":"pending"', b'"refund_status":"succeeded"'),
        ("ord_l", 10, "StrayPaymentRefunded", b"re_stray_ord_l", b"re_elsewhere"),
    ],
)
def test_a_changed_refund_or_dispute_event_is_named(
    money_back: PaymentLedger,
    tamperer: StoreTamperer,
    order_id: str,
    version: int,
    event_type: str,
    recorded: bytes,
    forged: bytes,
) -> None:
    payment_id = payment_id_for(order_id)
    assert tamperer.topic(payment_id, version).endswith(f"Payment.{event_type}")
    state = tamperer.state(payment_id, version)
    assert recorded in state
    tamperer.set_state(payment_id, version, state.replace(recorded, forged, 1))

    report, _ = verify_store(money_back)

    assert not report.ok
    first = report.first_break
    assert first is not None
    assert (first.order_id, first.version, first.kind) == (order_id, version, BreakKind.ALTERED)
