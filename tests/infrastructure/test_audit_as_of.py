"""As-of replay rebuilds each past state from the events, by version or by time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.ledger import PaymentLedger
from domain.money import Money
from domain.refund import OWED_REFUND, RefundReport, RefundStatus
from infrastructure.audit.as_of import NothingRecordedThen, payment_as_of
from tests.infrastructure.payment_histories import (
    START,
    dispute_lost,
    expired,
    recorded_at,
    refund_failed,
)


def test_the_state_at_each_version(ledger: PaymentLedger) -> None:
    expired(ledger, "ord_b")
    states = [payment_as_of(ledger, "ord_b", version=v) for v in range(1, 6)]
    assert [s.version for s in states] == [1, 2, 3, 4, 5]
    assert [s.status for s in states] == ["INITIATED", "FAILED", "FAILED", "FAILED", "FAILED"]
    assert [s.facts["releasedProducts"] for s in states] == [
        [],
        [],
        ["prod_a"],
        ["prod_a", "prod_b"],
        ["prod_a", "prod_b"],
    ]
    assert [s.facts["orderCancelled"] for s in states] == [False] * 4 + [True]
    assert states[0].amount == "204.98" and states[0].session_id == "cs_ord_b"
    assert states[1].facts["failureReason"] == "expired"
    assert states[1].facts["stripeEvents"] == ["evt_ord_b"]


def test_the_state_at_a_time(ledger: PaymentLedger) -> None:
    expired(ledger, "ord_b")
    # Initiated is stamped START; later events are stamped with the wall clock, later still.
    assert payment_as_of(ledger, "ord_b", at=START).version == 1
    assert payment_as_of(ledger, "ord_b", at=START + timedelta(days=3650)).version == 5
    with pytest.raises(NothingRecordedThen, match="nothing recorded"):
        payment_as_of(ledger, "ord_b", at=START - timedelta(seconds=1))


def test_unknown_orders_and_versions_are_errors(ledger: PaymentLedger) -> None:
    expired(ledger, "ord_b")
    with pytest.raises(NothingRecordedThen, match="no payment"):
        payment_as_of(ledger, "ord_missing")
    with pytest.raises(NothingRecordedThen, match="5 versions, not 9"):
        payment_as_of(ledger, "ord_b", version=9)
    with pytest.raises(NothingRecordedThen):
        payment_as_of(ledger, "ord_b", version=0)


def test_refunds_as_they_stood_at_a_time(ledger: PaymentLedger) -> None:
    refund_failed(ledger, "ord_r")
    sent = recorded_at(ledger, "ord_r", 5)  # sent to Stripe, not yet failed

    then = payment_as_of(ledger, "ord_r", at=sent)
    now = payment_as_of(ledger, "ord_r")

    assert (then.version, then.status, then.refunded_amount, then.refundable) == (
        5, "PARTIALLY_REFUNDED", "50.00", "154.98",
    )  # fmt: skip
    assert [(r.refund_id, r.amount, r.status, r.stripe_refund_id) for r in then.refunds] == [
        ("rf_ord_r", "50.00", "pending", "re_ord_r"),
    ]
    assert (then.refunds[0].origin, then.refunds[0].reason) == ("ordered", "requested_by_customer")
    assert then.refunds[0].ordered_by == "admin_1"
    assert (now.status, now.refunded_amount, now.refundable) == ("SUCCESS", "0.00", "204.98")
    assert [(r.refund_id, r.status) for r in now.refunds] == [("rf_ord_r", "failed")]
    assert then.dispute is None and now.dispute is None


def test_a_dispute_as_it_stood_at_a_time(ledger: PaymentLedger) -> None:
    dispute_lost(ledger, "ord_d")

    before = payment_as_of(ledger, "ord_d", at=recorded_at(ledger, "ord_d", 3))
    opened = payment_as_of(ledger, "ord_d", at=recorded_at(ledger, "ord_d", 4))
    now = payment_as_of(ledger, "ord_d")

    assert before.dispute is None
    assert opened.dispute is not None and now.dispute is not None
    assert (opened.dispute.dispute_id, opened.dispute.status, opened.dispute.amount) == (
        "dp_ord_d", "needs_response", "204.98",
    )  # fmt: skip
    assert (opened.status, opened.refunded_amount, opened.refundable) == (
        "SUCCESS", "0.00", "204.98",
    )  # fmt: skip
    assert (now.dispute.status, now.dispute.reason) == ("lost", "fraudulent")
    assert (now.status, now.refunded_amount, now.refundable) == ("REFUNDED", "204.98", "0.00")
    assert now.refunds == []


def test_money_owed_back_as_it_stood(ledger: PaymentLedger) -> None:
    payment = expired(ledger, "ord_o")  # 5 events
    late = Money(20498, "usd")
    payment.succeed("evt_late", "pi_late", "buyer@example.com", late)  # v6: owed, not sent
    payment.record_refunded("re_late", RefundStatus.PENDING)  # v7: on its way
    payment.report_refund("evt_f", RefundReport("re_late", late, RefundStatus.FAILED, OWED_REFUND))
    ledger.record(payment)  # v8: failed at Stripe, owed again

    states = [payment_as_of(ledger, "ord_o", version=v) for v in (5, 6, 7, 8)]

    assert [(s.status, s.refunded_amount, s.refund_owed) for s in states] == [
        ("FAILED", "0.00", "0.00"),
        ("FAILED", "0.00", "204.98"),
        ("FAILED", "204.98", "0.00"),
        ("FAILED", "0.00", "204.98"),
    ]
