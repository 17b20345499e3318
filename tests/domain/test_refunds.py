"""Refunds an operator orders, and what Stripe says of them, on the aggregate alone."""

from __future__ import annotations

import pytest

from domain.audit_chain import digest_of
from domain.effects import ConfirmOrder, IssueRefund
from domain.errors import (
    InvalidRefundAmount,
    InvalidRefundReason,
    PaymentNotRefundable,
    RefundExceedsRefundable,
)
from domain.lifecycle import FailureReason, PaymentStatus
from domain.money import Money
from domain.payment import Payment
from domain.refund import RefundOrigin, RefundReport, RefundStatus
from tests.domain.conftest import status_of

PAID = Money(20498, "usd")


def usd(minor: int) -> Money:
    return Money(minor, "usd")


@pytest.fixture
def paid(payment: Payment) -> Payment:
    payment.succeed("evt_paid", "pi_1", "buyer@example.com", PAID)
    payment.record_order_confirmed()
    return payment


def test_a_partial_refund_is_pending_and_owed_to_stripe_under_its_own_id(paid: Payment) -> None:
    assert paid.request_refund("rf_1", usd(5000), "requested_by_customer") == usd(5000)

    refund = paid.refund("rf_1")
    assert refund is not None
    assert (refund.amount, refund.currency, refund.reason) == (
        usd(5000),
        "usd",
        "requested_by_customer",
    )
    assert (refund.status, refund.stripe_refund_id) == (RefundStatus.PENDING, None)
    assert paid.status is PaymentStatus.PARTIALLY_REFUNDED
    assert paid.refunded_amount == usd(5000)
    assert paid.refundable == usd(15498)
    assert paid.pending_effects() == [
        IssueRefund("ord_1", "rf_1", "pi_1", usd(5000), "requested_by_customer")
    ]


def test_the_same_refund_id_again_records_nothing_and_answers_the_recorded_amount(
    paid: Payment,
) -> None:
    paid.request_refund("rf_1", usd(5000), None)
    paid.collect_events()
    assert paid.request_refund("rf_1", usd(7000), None) == usd(5000)
    assert paid.request_refund("rf_1", None, None) == usd(5000)
    assert paid.collect_events() == []
    assert paid.refundable == usd(15498)


def test_no_amount_refunds_all_that_remains(paid: Payment) -> None:
    paid.request_refund("rf_1", usd(5000), None)
    assert paid.request_refund("rf_2", None, None) == usd(15498)
    assert paid.refundable == usd(0)
    assert paid.refunded_amount == PAID


def test_more_than_remains_is_refused_and_records_nothing(paid: Payment) -> None:
    paid.request_refund("rf_1", usd(20000), None)
    paid.collect_events()
    with pytest.raises(RefundExceedsRefundable):
        paid.request_refund("rf_2", usd(499), None)
    with pytest.raises(RefundExceedsRefundable):
        paid.request_refund("rf_3", usd(PAID.minor + 1), None)
    assert paid.collect_events() == []
    assert paid.request_refund("rf_4", usd(498), None) == usd(498)


@pytest.mark.parametrize("amount", [usd(0), usd(-1), Money(100, "eur")])
def test_nothing_less_than_nothing_or_another_currency_is_refused(
    paid: Payment, amount: Money
) -> None:
    with pytest.raises(InvalidRefundAmount):
        paid.request_refund("rf_1", amount, None)


def test_only_stripes_reasons_are_taken(paid: Payment) -> None:
    with pytest.raises(InvalidRefundReason):
        paid.request_refund("rf_1", usd(1), "changed_mind")


def test_a_payment_without_money_is_not_refundable(payment: Payment) -> None:
    with pytest.raises(PaymentNotRefundable):
        payment.request_refund("rf_1", None, None)
    payment.fail(FailureReason.EXPIRED, "evt_expired")
    with pytest.raises(PaymentNotRefundable):
        payment.request_refund("rf_1", usd(1), None)


def test_a_fully_refunded_payment_is_not_refundable(paid: Payment) -> None:
    paid.request_refund("rf_1", None, None)
    paid.record_refund_sent("rf_1", "re_1", RefundStatus.SUCCEEDED)
    assert paid.status is PaymentStatus.REFUNDED
    with pytest.raises(PaymentNotRefundable):
        paid.request_refund("rf_2", usd(1), None)


def test_the_rest_after_a_partial_refund_ends_refunded_once_stripe_says_succeeded(
    paid: Payment,
) -> None:
    paid.request_refund("rf_1", usd(5000), None)
    paid.record_refund_sent("rf_1", "re_1", RefundStatus.SUCCEEDED)
    assert paid.status is PaymentStatus.PARTIALLY_REFUNDED
    paid.request_refund("rf_2", None, None)
    paid.record_refund_sent("rf_2", "re_2", RefundStatus.PENDING)
    assert status_of(paid) is PaymentStatus.PARTIALLY_REFUNDED  # pending: not back yet
    assert paid.refunded_amount == PAID
    assert paid.pending_effects() == []

    paid.report_refund("evt_r2", RefundReport("re_2", usd(15498), RefundStatus.SUCCEEDED, "rf_2"))
    assert status_of(paid) is PaymentStatus.REFUNDED


def test_a_refund_that_fails_gives_its_amount_back_and_the_status_with_it(paid: Payment) -> None:
    paid.request_refund("rf_1", None, None)
    paid.record_refund_sent("rf_1", "re_1", RefundStatus.SUCCEEDED)
    assert paid.status is PaymentStatus.REFUNDED

    paid.report_refund("evt_f", RefundReport("re_1", PAID, RefundStatus.FAILED, "rf_1"))
    assert status_of(paid) is PaymentStatus.SUCCESS
    assert paid.refundable == PAID
    assert paid.refunded_amount == usd(0)
    assert paid.pending_effects() == []  # a failed refund is not sent again
    refund = paid.refund("rf_1")
    assert refund is not None and refund.status is RefundStatus.FAILED


def test_stale_news_never_resurrects_a_failed_refund(paid: Payment) -> None:
    paid.request_refund("rf_1", usd(100), None)
    paid.report_refund("evt_f", RefundReport("re_1", usd(100), RefundStatus.FAILED, "rf_1"))
    paid.report_refund("evt_s", RefundReport("re_1", usd(100), RefundStatus.SUCCEEDED, "rf_1"))
    paid.report_refund("evt_p", RefundReport("re_1", usd(100), RefundStatus.PENDING, "rf_1"))
    paid.record_refund_sent("rf_1", "re_1", RefundStatus.PENDING)
    refund = paid.refund("rf_1")
    assert refund is not None and refund.status is RefundStatus.FAILED
    assert paid.refundable == PAID


def test_a_refund_event_before_the_creates_answer_records_stripes_id(paid: Payment) -> None:
    paid.request_refund("rf_1", usd(100), None)
    paid.report_refund("evt_c", RefundReport("re_1", usd(100), RefundStatus.PENDING, "rf_1"))
    assert paid.pending_effects() == []  # Stripe has it: nothing more to send
    paid.record_refund_sent("rf_1", "re_1", RefundStatus.PENDING)
    assert [type(e).__name__ for e in paid.collect_events()][-1] == "RefundReported"
    assert paid.has_applied("evt_c")


def test_stripes_refusal_records_the_refund_failed(paid: Payment) -> None:
    paid.request_refund("rf_1", usd(100), None)
    paid.record_refund_refused("rf_1", "HTTP 400 charge_disputed")
    refund = paid.refund("rf_1")
    assert refund is not None and refund.status is RefundStatus.FAILED
    assert paid.pending_effects() == []
    assert paid.status is PaymentStatus.SUCCESS


def test_a_refund_made_in_the_dashboard_is_recorded_as_external(paid: Payment) -> None:
    paid.report_refund("evt_d", RefundReport("re_dash", usd(4498), RefundStatus.SUCCEEDED))
    external = paid.refund("external:re_dash")
    assert external is not None and external.origin is RefundOrigin.EXTERNAL
    assert paid.status is PaymentStatus.PARTIALLY_REFUNDED
    assert paid.refundable == usd(16000)
    paid.report_refund("evt_d2", RefundReport("re_dash", usd(4498), RefundStatus.FAILED))
    assert paid.refundable == PAID


def test_a_charge_total_no_refund_explains_is_an_unidentified_external_refund(
    paid: Payment,
) -> None:
    paid.request_refund("rf_1", usd(1000), None)
    paid.report_charge_refunds("evt_ch1", usd(1000), ())
    assert paid.refunded_amount == usd(1000)  # ours explains it
    paid.report_charge_refunds("evt_ch2", usd(3000), ())
    assert paid.refunded_amount == usd(3000)
    # The dashboard refund behind it is named later: the same money, not more.
    paid.report_refund("evt_d", RefundReport("re_dash", usd(2000), RefundStatus.SUCCEEDED))
    assert paid.refunded_amount == usd(3000)


def test_ordered_refunds_do_not_stop_the_order_being_confirmed(payment: Payment) -> None:
    payment.succeed("evt_paid", "pi_1", "buyer@example.com", PAID)
    payment.request_refund("rf_1", usd(100), None)
    assert ConfirmOrder("ord_1") in payment.pending_effects()


def test_refunds_and_disputes_replay_from_their_events(paid: Payment) -> None:
    paid.request_refund("rf_1", usd(100), "duplicate")
    paid.record_refund_sent("rf_1", "re_1", RefundStatus.PENDING)
    paid.report_refund("evt_d", RefundReport("re_dash", usd(200), RefundStatus.SUCCEEDED))
    events = paid.collect_events()
    replayed: Payment | None = None
    for domain_event in events:
        replayed = domain_event.mutate(replayed)
    assert replayed is not None
    assert replayed.refunds == paid.refunds
    assert replayed.status is paid.status


def test_a_charge_total_of_nothing_is_news_not_an_impossible_amount(paid: Payment) -> None:
    # After every refund failed, the charge's running total is back to zero.
    paid.collect_events()
    paid.report_charge_refunds("evt_ch", usd(0), ())
    assert paid.refunded_amount == usd(0)
    assert paid.collect_events() == []


def test_a_charge_listing_its_refunds_records_each(paid: Payment) -> None:
    # Older API versions list the charge's refunds in `charge.refunded`.
    listed = (
        RefundReport("re_a", usd(1000), RefundStatus.SUCCEEDED),
        RefundReport("re_b", usd(2000), RefundStatus.PENDING),
    )
    paid.report_charge_refunds("evt_ch", usd(3000), listed)
    assert paid.refund("external:re_a") is not None
    assert paid.refund("external:re_b") is not None
    assert paid.refunded_amount == usd(3000)  # and nothing unidentified beside them


def test_the_refund_remembers_who_ordered_it(paid: Payment) -> None:
    paid.request_refund("rf_1", usd(100), None, ordered_by="admin_1")
    paid.request_refund("rf_1", usd(100), None, ordered_by="admin_2")  # the same refund again

    refund = paid.refund("rf_1")
    assert refund is not None and refund.ordered_by == "admin_1"
    ordered = [e for e in paid.collect_events() if type(e).__name__ == "RefundOrdered"]
    assert [vars(e)["ordered_by"] for e in ordered] == ["admin_1"]


def test_a_refund_ordered_before_its_orderer_was_recorded_replays_and_verifies(
    paid: Payment,
) -> None:
    paid.request_refund("rf_1", usd(100), None)
    events = paid.collect_events()
    ordered = events[-1]
    del vars(ordered)["ordered_by"]  # as stored before the field existed
    ordered.__dict__["chain_hash"] = digest_of(ordered)  # and hashed without it

    replayed: Payment | None = None
    for domain_event in events:
        replayed = domain_event.mutate(replayed)

    assert replayed is not None
    refund = replayed.refund("rf_1")
    assert refund is not None and (refund.amount, refund.ordered_by) == (usd(100), "")
