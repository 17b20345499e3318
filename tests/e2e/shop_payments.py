"""Payments for the reference shop's orders, as real processes meet them: the payment opened
in the store as create-session would open it, Stripe's outcome as a signed webhook body."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from application.ledger import PaymentLedger
from domain.order import OrderSnapshot
from domain.payment import Payment
from infrastructure.neighbours.order_directory import HttpOrderDirectory
from tests.e2e.payment_processes import WEBHOOK_SECRET
from tests.fixtures.shop import RunningShop
from tests.stripe_payloads import checkout_event, encode, sign


def open_payment(shop: RunningShop, ledger: PaymentLedger, order_id: str) -> Payment:
    """Records the order's payment as create-session would, with a session id of our own."""

    async def snapshot() -> OrderSnapshot:
        orders = HttpOrderDirectory(shop.url, internal_token=shop.internal_token)
        try:
            return await orders.get(order_id)
        finally:
            await orders.aclose()

    now = datetime.now(UTC)
    payment = Payment.initiate(
        asyncio.run(snapshot()), "buyer@example.com", f"cs_test_{order_id}",
        "https://checkout.example/x", expires_at=now + timedelta(minutes=30), at=now,
    )  # fmt: skip
    ledger.record(payment)
    return payment


def webhook(payment: Payment, event_type: str, event_id: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers of Stripe's delivery of `event_type` about `payment`'s session."""
    body = encode(
        checkout_event(
            event_type, payment.order_id, payment.checkout_session_id,
            amount_total=payment.amount.minor, currency=payment.amount.currency, evt_id=event_id,
        )
    )  # fmt: skip
    headers = {"Stripe-Signature": sign(body, WEBHOOK_SECRET), "Content-Type": "application/json"}
    return body, headers
