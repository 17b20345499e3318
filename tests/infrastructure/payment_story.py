"""Drives a real ledger through a payment's life the way the service does.

Stripe facts go through `ApplyStripeEvent` with Stripe-shaped payloads; the
processor's facts through the aggregate's `record_*` methods, as the processor
records them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from application.apply_stripe_event import ApplyStripeEvent, Outcome
from application.ledger import PaymentLedger
from application.stripe_events import decode_stripe_event
from domain.lifecycle import FailedPaymentPolicy
from domain.payment import Payment
from tests.fakes import an_order
from tests.stripe_payloads import checkout_event, encode, payment_failed_event

BUYER_EMAIL = "buyer@example.com"
STARTED = datetime.now(UTC).replace(microsecond=123456) - timedelta(hours=1)


class PaymentStory:
    """One order's payment, told step by step to a ledger."""

    def __init__(self, ledger: PaymentLedger, order_id: str, user_id: str = "user_1") -> None:
        self.ledger = ledger
        self.order_id = order_id
        self.user_id = user_id
        self.session_id = f"cs_test_{order_id}"

    def initiate(self) -> PaymentStory:
        payment = Payment.initiate(
            an_order(self.order_id, self.user_id),
            user_email="user@example.com",
            checkout_session_id=self.session_id,
            checkout_url=f"https://checkout.example/{self.session_id}",
            expires_at=STARTED + timedelta(minutes=30),
            at=STARTED,
        )
        self.ledger.record(payment)
        return self

    def stripe(
        self,
        event_type: str,
        policy: FailedPaymentPolicy = FailedPaymentPolicy.CANCEL,
        evt_id: str | None = None,
        **fields: Any,
    ) -> Outcome:
        if event_type == "payment_intent.payment_failed":
            payload = payment_failed_event(self.order_id, evt_id=evt_id)
        else:
            payload = checkout_event(
                event_type, self.order_id, self.session_id, evt_id=evt_id, **fields
            )
        return ApplyStripeEvent(self.ledger, policy).apply(decode_stripe_event(encode(payload)))

    def paid(self, evt_id: str | None = None) -> Outcome:
        return self.stripe("checkout.session.completed", evt_id=evt_id)

    def order_confirmed(self) -> None:
        self._record(lambda payment: payment.record_order_confirmed())

    def checkout_closed(self) -> None:
        self._record(lambda payment: payment.record_checkout_closed("expired"))

    def stock_released(self) -> None:
        for product_id in ("prod_a", "prod_b"):
            self._record(partial(Payment.record_inventory_released, product_id=product_id))

    def order_cancelled(self) -> None:
        self._record(lambda payment: payment.record_order_cancelled())

    def refunded(self) -> None:
        self._record(lambda payment: payment.record_refunded("re_test_1"))

    def payment(self) -> Payment:
        payment = self.ledger.find(self.order_id)
        assert payment is not None
        return payment

    def _record(self, fact: Callable[[Payment], None]) -> None:
        payment = self.payment()
        before = payment.version
        fact(payment)
        assert payment.pending_events, "the fact changed nothing"
        self.ledger.record(payment)
        assert payment.version > before
