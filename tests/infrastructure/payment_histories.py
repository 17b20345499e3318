"""Payments with real histories, recorded in a real store, for the audit tests."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from application.ledger import PaymentLedger
from domain.dispute import Dispute
from domain.lifecycle import FailureReason
from domain.money import Money
from domain.payment import Payment, payment_id_for
from domain.refund import OWED_REFUND, RefundReport, RefundStatus
from tests.fakes import an_order

START = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)  # before the wall clock stamps later events


def opened(ledger: PaymentLedger, order_id: str, at: datetime = START) -> Payment:
    payment = Payment.initiate(
        an_order(order_id, "user_1"),
        user_email="buyer@example.com",
        checkout_session_id=f"cs_{order_id}",
        checkout_url=f"https://checkout.example/cs_{order_id}",
        expires_at=at + timedelta(minutes=30),
        at=at,
    )
    ledger.record(payment)
    return payment


def paid(ledger: PaymentLedger, order_id: str, at: datetime = START) -> Payment:
    """Initiated, Succeeded, OrderConfirmed: 3 events, 204.98 USD."""
    payment = opened(ledger, order_id, at)
    payment.succeed(f"evt_{order_id}", f"pi_{order_id}", "buyer@example.com", Money(20498, "usd"))
    ledger.record(payment)
    payment.record_order_confirmed()
    ledger.record(payment)
    return payment


def expired(ledger: PaymentLedger, order_id: str, at: datetime = START) -> Payment:
    """Initiated, Failed, two InventoryReleased, OrderCancelled: 5 events."""
    payment = opened(ledger, order_id, at)
    payment.fail(FailureReason.EXPIRED, f"evt_{order_id}")
    ledger.record(payment)
    for product in ("prod_a", "prod_b"):
        payment.record_inventory_released(product)
        ledger.record(payment)
    payment.record_order_cancelled()
    ledger.record(payment)
    return payment


def _recorded(ledger: PaymentLedger, payment: Payment) -> None:
    """Records the pending events, each stamped later than the last (`--at` tests pick a
    moment between two of them)."""
    time.sleep(0.002)
    ledger.record(payment)


def recorded_at(ledger: PaymentLedger, order_id: str, version: int) -> datetime:
    """When the order's payment recorded `version`: a moment before its next event."""
    events = list(ledger.history(payment_id_for(order_id)))
    moment = vars(events[version - 1])["timestamp"]
    assert isinstance(moment, datetime) and moment < vars(events[version])["timestamp"]
    return moment


def refund_failed(ledger: PaymentLedger, order_id: str, at: datetime = START) -> Payment:
    """Paid (3 events), then 50.00 of 204.98 refunded by an operator (`rf_{order}`, ordered
    by `admin_1`): RefundOrdered (v4), RefundReported pending (v5), RefundReported failed at
    Stripe (v6)."""
    payment = paid(ledger, order_id, at)
    refund_id = f"rf_{order_id}"
    payment.request_refund(
        refund_id, Money(5000, "usd"), "requested_by_customer", ordered_by="admin_1"
    )
    _recorded(ledger, payment)
    payment.record_refund_sent(refund_id, f"re_{order_id}", RefundStatus.PENDING)
    _recorded(ledger, payment)
    failed = RefundReport(f"re_{order_id}", Money(5000, "usd"), RefundStatus.FAILED, refund_id)
    payment.report_refund(f"evt_refund_failed_{order_id}", failed)
    _recorded(ledger, payment)
    return payment


def dispute_lost(ledger: PaymentLedger, order_id: str, at: datetime = START) -> Payment:
    """Paid (3 events), then a dispute of the whole 204.98 (`dp_{order}`): DisputeOpened
    needs_response (v4), DisputeUpdated under_review (v5), DisputeClosed lost (v6)."""
    payment = paid(ledger, order_id, at)
    for n, status in enumerate(("needs_response", "under_review", "lost")):
        dispute = Dispute(f"dp_{order_id}", Money(20498, "usd"), "fraudulent", status)
        payment.report_dispute(f"evt_dispute_{n}_{order_id}", dispute)
        _recorded(ledger, payment)
    return payment


def refunded_in_every_way(ledger: PaymentLedger, order_id: str) -> Payment:
    """Every kind of refund and dispute event on one paid payment: an operator's refund
    (ordered, reported, then a second refused), a dashboard refund, a charge's unexplained
    total, and a dispute opened, updated and won: 12 events, 25.00 back."""
    payment = paid(ledger, order_id)
    payment.request_refund("rf_1", Money(1000, "usd"), None)
    payment.record_refund_sent("rf_1", "re_1", RefundStatus.SUCCEEDED)
    payment.request_refund("rf_2", Money(500, "usd"), "duplicate")
    payment.record_refund_refused("rf_2", "charge already refunded")
    dashboard = RefundReport("re_dash", Money(700, "usd"), RefundStatus.SUCCEEDED)
    payment.report_refund("evt_dash", dashboard)
    payment.report_charge_refunds("evt_charge", Money(3000, "usd"), ())
    for n, status in enumerate(("needs_response", "under_review", "won")):
        dispute = Dispute("dp_1", Money(20498, "usd"), "fraudulent", status)
        payment.report_dispute(f"evt_dispute_{n}", dispute)
    ledger.record(payment)
    return payment


def late_and_stray_refunded(ledger: PaymentLedger, order_id: str) -> Payment:
    """Expired (5 events), then paid late: the service's own refund, first pending then
    succeeded; and money paid on a stray session, refunded: 10 events, REFUNDED."""
    payment = expired(ledger, order_id)
    late = Money(20498, "usd")
    payment.succeed(f"evt_late_{order_id}", f"pi_{order_id}", "buyer@example.com", late)
    payment.record_refunded(f"re_late_{order_id}", RefundStatus.PENDING)
    settled = RefundReport(f"re_late_{order_id}", late, RefundStatus.SUCCEEDED, OWED_REFUND)
    payment.report_refund(f"evt_late_refund_{order_id}", settled)
    stray = f"cs_stray_{order_id}"
    payment.receive_stray_payment(
        f"evt_stray_{order_id}", stray, f"pi_stray_{order_id}", "buyer@example.com", late
    )
    payment.record_stray_refunded(stray, f"re_stray_{order_id}")
    ledger.record(payment)
    return payment
