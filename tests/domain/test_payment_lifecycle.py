"""Every row of DESIGN.md's lifecycle table, on the aggregate alone."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.effects import CancelOrder, CloseCheckout, ConfirmOrder, RefundPayment, ReleaseStock
from domain.errors import InvalidOrder
from domain.lifecycle import FailedPaymentPolicy, FailureReason, PaymentStatus
from domain.money import Money
from domain.order import OrderLine
from domain.payment import Payment, payment_id_for
from tests.domain.conftest import NOW, initiated_payment, status_of
from tests.fakes import an_order

PAID = Money(20498, "usd")


def new_events(payment: Payment) -> list[str]:
    return [type(e).__name__ for e in payment.collect_events()]


def test_one_payment_per_order_by_derived_id(payment: Payment) -> None:
    assert payment.id == payment_id_for("ord_1") == initiated_payment().id
    assert payment.status is PaymentStatus.INITIATED
    assert payment.amount == PAID
    assert new_events(payment) == ["Initiated"]


def test_only_pending_orders_whose_lines_add_up_can_be_initiated() -> None:
    with pytest.raises(InvalidOrder):
        initiated_payment(status="CONFIRMED")
    order = an_order()
    broken = type(order)(order.order_id, order.user_id, "PENDING", order.lines, Money(1, "usd"))
    with pytest.raises(InvalidOrder, match="add up"):
        Payment.initiate(broken, "a@b.c", "cs", "u", NOW, NOW)


def test_paid_completion_succeeds_and_owes_an_order_confirmation(payment: Payment) -> None:
    payment.succeed("evt_1", "pi_1", "buyer@example.com", PAID)
    assert payment.status is PaymentStatus.SUCCESS
    assert payment.pending_effects() == [ConfirmOrder("ord_1")]
    payment.record_order_confirmed()
    assert payment.pending_effects() == []


def test_unpaid_completion_waits_for_the_async_result(payment: Payment) -> None:
    payment.await_async_payment("evt_1", "pi_1")
    assert payment.is_open
    assert payment.awaiting_async_payment
    assert payment.pending_effects() == []
    payment.succeed("evt_2", "pi_1", "buyer@example.com", PAID)
    assert payment.status is PaymentStatus.SUCCESS


@pytest.mark.parametrize("reason", [FailureReason.EXPIRED, FailureReason.ASYNC_FAILED])
def test_expiry_or_async_failure_releases_each_item_then_cancels(
    payment: Payment,
    reason: FailureReason,
) -> None:
    payment.fail(reason, "evt_1")
    assert payment.status is PaymentStatus.FAILED
    assert payment.pending_effects() == [
        ReleaseStock("ord_1", "prod_a", 2),
        ReleaseStock("ord_1", "prod_b", 1),
    ]
    payment.record_inventory_released("prod_a")
    payment.record_inventory_released("prod_a")
    assert payment.pending_effects() == [ReleaseStock("ord_1", "prod_b", 1)]
    payment.record_inventory_released("prod_b")
    assert payment.pending_effects() == [CancelOrder("ord_1")]
    payment.record_order_cancelled()
    assert payment.pending_effects() == []
    assert new_events(payment).count("InventoryReleased") == 2


def test_declined_card_under_cancel_policy_closes_the_session_before_anything_else(
    payment: Payment,
) -> None:
    payment.decline("evt_1", "pi_1", "Your card was declined.", FailedPaymentPolicy.CANCEL)
    assert payment.status is PaymentStatus.FAILED
    assert payment.failure_reason is FailureReason.PAYMENT_FAILED
    assert payment.pending_effects() == [CloseCheckout("ord_1", "cs_test_1")]
    payment.record_checkout_closed("expired")
    assert payment.pending_effects()[0] == ReleaseStock("ord_1", "prod_a", 2)


def test_declined_card_under_retry_policy_only_records_the_attempt(payment: Payment) -> None:
    payment.decline("evt_1", "pi_1", "Your card was declined.", FailedPaymentPolicy.RETRY)
    payment.decline("evt_2", "pi_1", "Insufficient funds.", FailedPaymentPolicy.RETRY)
    assert payment.is_open
    assert payment.failed_attempts == 2
    assert payment.pending_effects() == []
    payment.succeed("evt_3", "pi_1", "buyer@example.com", PAID)
    assert payment.status is PaymentStatus.SUCCESS


def test_success_after_failure_is_refunded_not_confirmed(payment: Payment) -> None:
    payment.fail(FailureReason.EXPIRED, "evt_1")
    payment.succeed("evt_2", "pi_9", "buyer@example.com", PAID)
    assert payment.status is PaymentStatus.FAILED
    assert RefundPayment("ord_1", "pi_9", PAID) in payment.pending_effects()
    assert ConfirmOrder("ord_1") not in payment.pending_effects()
    payment.record_refunded("re_1")
    payment.record_refunded("re_2")
    assert status_of(payment) is PaymentStatus.REFUNDED
    assert payment.refund_id == "re_1"
    assert all(not isinstance(e, RefundPayment) for e in payment.pending_effects())


def test_a_second_late_success_requests_no_second_refund(payment: Payment) -> None:
    payment.fail(FailureReason.EXPIRED, "evt_1")
    payment.succeed("evt_2", "pi_9", "buyer@example.com", PAID)
    payment.succeed("evt_3", "pi_9", "buyer@example.com", PAID)
    assert new_events(payment).count("RefundRequested") == 1


@pytest.mark.parametrize(
    "late",
    [
        lambda p: p.fail(FailureReason.EXPIRED, "evt_9"),
        lambda p: p.fail(FailureReason.ASYNC_FAILED, "evt_9"),
        lambda p: p.decline("evt_9", "pi_1", "declined", FailedPaymentPolicy.CANCEL),
        lambda p: p.await_async_payment("evt_9", "pi_1"),
        lambda p: p.succeed("evt_9", "pi_1", "x@example.com", PAID),
    ],
)
def test_nothing_overwrites_a_success(payment: Payment, late: Callable[[Payment], None]) -> None:
    payment.succeed("evt_1", "pi_1", "buyer@example.com", PAID)
    payment.collect_events()
    late(payment)
    assert payment.status is PaymentStatus.SUCCESS
    assert new_events(payment) == []


def test_failed_twice_changes_nothing(payment: Payment) -> None:
    payment.fail(FailureReason.EXPIRED, "evt_1")
    payment.collect_events()
    payment.fail(FailureReason.ASYNC_FAILED, "evt_2")
    payment.decline("evt_3", "pi", "declined", FailedPaymentPolicy.CANCEL)
    assert payment.failure_reason is FailureReason.EXPIRED
    assert new_events(payment) == []


def test_the_same_stripe_event_is_applied_once(payment: Payment) -> None:
    payment.decline("evt_1", "pi_1", "declined", FailedPaymentPolicy.RETRY)
    payment.decline("evt_1", "pi_1", "declined", FailedPaymentPolicy.RETRY)
    payment.await_async_payment("evt_2", "pi_1")
    payment.succeed("evt_2", "pi_1", "b@example.com", PAID)
    assert payment.failed_attempts == 1
    assert payment.status is PaymentStatus.INITIATED
    assert new_events(payment) == ["Initiated", "AttemptFailed", "AsyncPaymentAwaited"]


def test_facts_cannot_be_recorded_out_of_place(payment: Payment) -> None:
    payment.record_order_confirmed()
    payment.record_order_cancelled()
    payment.record_inventory_released("prod_a")
    payment.record_refunded("re_1")
    payment.record_checkout_closed("expired")
    assert new_events(payment) == ["Initiated"]
    payment.fail(FailureReason.EXPIRED, "evt_1")
    payment.record_inventory_released("not-in-the-order")
    assert new_events(payment) == ["Failed"]


@pytest.mark.parametrize("received", [Money(1, "usd"), Money(20498, "eur"), Money(20499, "usd")])
def test_money_that_is_not_the_order_total_never_confirms_the_order(
    payment: Payment,
    received: Money,
) -> None:
    payment.succeed("evt_1", "pi_1", "buyer@example.com", received)
    assert payment.status is PaymentStatus.FAILED
    assert payment.failure_reason is FailureReason.AMOUNT_MISMATCH
    assert payment.refund_due == received
    effects = payment.pending_effects()
    assert ConfirmOrder("ord_1") not in effects
    assert RefundPayment("ord_1", "pi_1", received) in effects
    assert ReleaseStock("ord_1", "prod_a", 2) in effects


def test_a_product_on_two_lines_is_released_once_with_both_quantities() -> None:
    lines = (
        OrderLine("prod_a", "Keyboard", 2, Money(9999, "usd")),
        OrderLine("prod_a", "Keyboard", 3, Money(9999, "usd")),
    )
    payment = initiated_payment(lines=lines)
    payment.fail(FailureReason.EXPIRED, "evt_1")
    assert payment.pending_effects() == [ReleaseStock("ord_1", "prod_a", 5)]
    payment.record_inventory_released("prod_a")
    assert payment.pending_effects() == [CancelOrder("ord_1")]


def test_a_refund_without_a_payment_intent_is_still_owed(payment: Payment) -> None:
    payment.fail(FailureReason.EXPIRED, "evt_1")
    payment.succeed("evt_2", "", "buyer@example.com", PAID)
    assert RefundPayment("ord_1", "", PAID) in payment.pending_effects()
