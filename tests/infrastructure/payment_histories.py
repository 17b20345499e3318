"""Payments with real histories, recorded in a real store, for the audit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from application.ledger import PaymentLedger
from domain.lifecycle import FailureReason
from domain.money import Money
from domain.payment import Payment
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
