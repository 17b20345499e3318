"""Money the service owes back by itself, and that no refund covers (issue 12, ADR 0022).

A late payment, a wrong amount or an order cancelled at the shop is owed back in full.
While no refund pending or succeeded (nor a lost dispute) covers it, it is `refund_owed`:
before the effects queue has sent the refund, and again once Stripe fails it, until a
person refunds it in the dashboard.
"""

from __future__ import annotations

from domain.dispute import Dispute
from domain.effects import RefundPayment
from domain.lifecycle import FailureReason, PaymentStatus
from domain.money import Money
from domain.payment import Payment
from domain.refund import OWED_REFUND, RefundReport, RefundStatus

PAID = Money(20498, "usd")
NOTHING = Money(0, "usd")
STRAY = "stray:cs_stray"


def usd(minor: int) -> Money:
    return Money(minor, "usd")


def late_payment(payment: Payment) -> Payment:
    payment.fail(FailureReason.EXPIRED, "evt_expired")
    payment.succeed("evt_paid", "pi_1", "buyer@example.com", PAID)
    return payment


def owed_refund_failed(payment: Payment) -> None:
    failed = RefundReport("re_1", PAID, RefundStatus.FAILED, OWED_REFUND)
    payment.report_refund("evt_failed", failed)


def test_a_paid_or_unpaid_payment_owes_nothing(payment: Payment) -> None:
    assert payment.refund_owed == NOTHING
    payment.succeed("evt_paid", "pi_1", "buyer@example.com", PAID)
    payment.request_refund("rf_1", usd(100), None)
    payment.report_refund("evt_f", RefundReport("re_1", usd(100), RefundStatus.FAILED, "rf_1"))
    assert payment.refund_owed == NOTHING  # an operator's refund failing owes nothing


def test_late_money_is_owed_until_its_refund_is_at_stripe(payment: Payment) -> None:
    late_payment(payment)
    assert payment.refund_owed == PAID  # not sent yet

    payment.record_refunded("re_1", RefundStatus.PENDING)
    assert payment.refund_owed == NOTHING
    payment.report_refund("evt_ok", RefundReport("re_1", PAID, RefundStatus.SUCCEEDED, "owed"))
    assert (payment.status, payment.refund_owed) == (PaymentStatus.REFUNDED, NOTHING)


def test_a_late_payments_refund_that_fails_is_owed_again(payment: Payment) -> None:
    late_payment(payment)
    payment.record_refunded("re_1", RefundStatus.PENDING)

    owed_refund_failed(payment)

    assert payment.status is PaymentStatus.FAILED
    assert (payment.refunded_amount, payment.refund_owed) == (NOTHING, PAID)
    # Owed, yet not retried: a person must act.
    assert not any(isinstance(e, RefundPayment) for e in payment.pending_effects())


def test_a_succeeded_refund_the_bank_returns_is_owed_again(payment: Payment) -> None:
    late_payment(payment)
    payment.record_refunded("re_1", RefundStatus.SUCCEEDED)
    assert payment.status is PaymentStatus.REFUNDED

    owed_refund_failed(payment)

    assert (payment.status, payment.refund_owed) == (PaymentStatus.FAILED, PAID)


def test_a_dashboard_refund_of_that_money_settles_what_is_owed(payment: Payment) -> None:
    late_payment(payment)
    payment.record_refunded("re_1", RefundStatus.PENDING)
    owed_refund_failed(payment)

    payment.report_refund("evt_d1", RefundReport("re_d1", usd(498), RefundStatus.PENDING))
    assert payment.refund_owed == usd(20000)
    payment.report_refund("evt_d2", RefundReport("re_d2", usd(20000), RefundStatus.SUCCEEDED))

    assert payment.refund_owed == NOTHING
    payment.report_refund("evt_d1f", RefundReport("re_d1", usd(498), RefundStatus.FAILED))
    assert payment.refund_owed == usd(498)  # part of the hand refund failed in turn


def test_an_order_cancelled_at_the_shop_owes_its_money_when_the_refund_fails(
    payment: Payment,
) -> None:
    payment.succeed("evt_paid", "pi_1", "buyer@example.com", PAID)
    payment.record_order_found_cancelled()
    assert payment.refund_owed == PAID
    payment.record_refunded("re_1", RefundStatus.PENDING)
    assert (payment.status, payment.refund_owed) == (PaymentStatus.PARTIALLY_REFUNDED, NOTHING)

    owed_refund_failed(payment)

    assert (payment.status, payment.refund_owed) == (PaymentStatus.SUCCESS, PAID)


def test_a_lost_dispute_took_the_owed_money_back_already(payment: Payment) -> None:
    late_payment(payment)
    payment.record_refunded("re_1", RefundStatus.PENDING)
    owed_refund_failed(payment)

    payment.report_dispute("evt_dp", Dispute("dp_1", PAID, "fraudulent", "lost"))

    assert payment.refund_owed == NOTHING


def test_what_is_owed_replays_from_the_events(payment: Payment) -> None:
    late_payment(payment)
    payment.record_refunded("re_1", RefundStatus.PENDING)
    owed_refund_failed(payment)

    replayed: Payment | None = None
    for domain_event in payment.collect_events():
        replayed = domain_event.mutate(replayed)

    assert replayed is not None and replayed.refund_owed == PAID


def test_a_refund_stripe_refuses_is_still_owed_its_refusal_recorded_once(
    payment: Payment,
) -> None:
    """The service's own refund and a stray session's: the money stays owed and asked for
    (the effects queue parks the payment and asks again); the refusal is recorded once,
    so the alert saying the money is still owed is written once."""
    late_payment(payment)
    payment.receive_stray_payment("evt_stray", "cs_stray", "pi_stray", "b@example.com", PAID)
    payment.collect_events()

    payment.record_owed_refund_refused(OWED_REFUND, "HTTP 400 charge_disputed")
    payment.record_owed_refund_refused(STRAY, "HTTP 400 charge_disputed")
    payment.record_owed_refund_refused(OWED_REFUND, "HTTP 400 charge_disputed")
    payment.record_owed_refund_refused(STRAY, "HTTP 400 another refusal")

    refused = payment.collect_events()
    assert [type(e).__name__ for e in refused] == ["OwedRefundRefused", "OwedRefundRefused"]
    assert [vars(e)["refund_id"] for e in refused] == [OWED_REFUND, STRAY]
    assert payment.refund_owed == PAID
    assert [e for e in payment.pending_effects() if isinstance(e, RefundPayment)] == [
        RefundPayment("ord_1", "pi_1", PAID),
        RefundPayment("ord_1", "pi_stray", PAID, "cs_stray"),
    ]

    payment.record_refunded("re_1", RefundStatus.PENDING)  # asked again, Stripe made it
    payment.record_stray_refunded("cs_stray", "re_2", RefundStatus.PENDING)
    assert payment.refund_owed == NOTHING
    assert not any(isinstance(e, RefundPayment) for e in payment.pending_effects())


def test_a_refusal_of_a_refund_no_longer_owed_records_nothing(payment: Payment) -> None:
    late_payment(payment)
    payment.record_refunded("re_1", RefundStatus.PENDING)
    payment.collect_events()

    payment.record_owed_refund_refused(OWED_REFUND, "HTTP 400")
    payment.record_owed_refund_refused(STRAY, "HTTP 400")  # no such stray money

    assert payment.collect_events() == []


def test_a_failed_stray_refund_is_owed_back_not_refundable(payment: Payment) -> None:
    payment.succeed("evt_paid", "pi_1", "buyer@example.com", PAID)
    payment.receive_stray_payment("evt_stray", "cs_stray", "pi_stray", "b@example.com", PAID)
    payment.record_stray_refunded("cs_stray", "re_2", RefundStatus.PENDING)

    payment.report_refund("evt_f", RefundReport("re_2", PAID, RefundStatus.FAILED, STRAY))

    refund = payment.refund(STRAY)
    assert refund is not None and refund.status is RefundStatus.FAILED
    assert refund.is_owed_back
    assert payment.refundable == PAID  # the order's own money, untouched by the stray's
    assert not any(isinstance(e, RefundPayment) for e in payment.pending_effects())


def refunds_owed(payment: Payment) -> list[RefundPayment]:
    return [e for e in payment.pending_effects() if isinstance(e, RefundPayment)]


def test_a_dispute_lost_before_the_owed_refund_is_sent_owes_no_refund(payment: Payment) -> None:
    """The cardholder took the late money back through the dispute: refunding it too would
    give it back twice (Stripe refuses with `charge_disputed`, a false failure alert)."""
    late_payment(payment)
    payment.report_dispute("evt_dp", Dispute("dp_1", PAID, "fraudulent", "needs_response"))
    assert refunds_owed(payment) == [RefundPayment("ord_1", "pi_1", PAID)]

    payment.report_dispute("evt_lost", Dispute("dp_1", PAID, "fraudulent", "lost"))

    assert refunds_owed(payment) == []
    assert payment.refund_owed == NOTHING
    assert payment.status is PaymentStatus.REFUNDED


def test_a_partial_dispute_lost_leaves_only_the_rest_to_refund(payment: Payment) -> None:
    late_payment(payment)

    payment.report_dispute("evt_lost", Dispute("dp_1", usd(5000), "fraudulent", "lost"))

    assert refunds_owed(payment) == [RefundPayment("ord_1", "pi_1", usd(15498))]
    assert payment.refund_owed == usd(15498)  # the status and the effect agree
    payment.record_refunded("re_1", RefundStatus.SUCCEEDED)
    refund = payment.refund(OWED_REFUND)
    assert refund is not None and refund.amount == usd(15498)
    assert (payment.status, payment.refund_owed) == (PaymentStatus.REFUNDED, NOTHING)


def test_money_in_another_currency_is_owed_back_in_that_currency(payment: Payment) -> None:
    yen = Money(3000, "jpy")
    payment.succeed("evt_paid", "pi_1", "buyer@example.com", yen)  # an order in USD
    assert (payment.status, payment.refund_currency) == (PaymentStatus.FAILED, "jpy")
    assert (payment.refund_owed, payment.refunded_amount) == (yen, Money(0, "jpy"))

    payment.record_refunded("re_1", RefundStatus.SUCCEEDED)

    assert (payment.status, payment.refunded_amount) == (PaymentStatus.REFUNDED, yen)
    assert payment.refund_owed == Money(0, "jpy")


def test_the_refund_currency_is_the_orders_until_money_arrives(payment: Payment) -> None:
    assert payment.refund_currency == "usd"
