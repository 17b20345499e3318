"""The Payment aggregate: one per order, the whole life of its Stripe Checkout payment.

Each `@event("Name")` method declares an event (eventsourcing's `@event("Credited")
def credit(self, amount)`): its parameters are the event's fields, its body is how
the event changes the payment, replayed forever from the store. The public commands
beside them decide; `ChainedAggregate` chains every event into the audit hash chain.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID, uuid5

import msgspec
from eventsourcing.domain import event

from domain.audit_chain import ChainedAggregate
from domain.charge_limits import implausible_charge
from domain.effects import (
    CancelOrder,
    CloseCheckout,
    ConfirmOrder,
    Effect,
    RefundPayment,
    ReleaseStock,
)
from domain.errors import ImplausibleAmount, InvalidOrder
from domain.lifecycle import FailedPaymentPolicy, FailureReason, PaymentStatus
from domain.money import Money
from domain.order import OrderLine, OrderSnapshot
from domain.stray_payment import StrayPayment

PAYMENT_NAMESPACE = UUID("6f1c8a52-3d0e-5b7a-9c11-2f6a4b8e0d37")


def payment_id_for(order_id: str) -> UUID:
    """One payment per order: the id is derived, so a second one cannot be created."""
    return uuid5(PAYMENT_NAMESPACE, order_id)


class Payment(ChainedAggregate):
    """Records every fact about an order's payment; never overwrites a terminal state."""

    TERMINAL: ClassVar[frozenset[PaymentStatus]] = frozenset(
        {PaymentStatus.SUCCESS, PaymentStatus.FAILED, PaymentStatus.REFUNDED}
    )

    # -- opening it ------------------------------------------------------------

    @classmethod
    def initiate(
        cls,
        order: OrderSnapshot,
        user_email: str,
        checkout_session_id: str,
        checkout_url: str,
        expires_at: datetime,
        at: datetime,
        checkout_attempt: str = "",
    ) -> Payment:
        """Opens the payment of a PENDING order once Stripe has given us a session.

        `checkout_attempt` names the create that opened the session (Stripe copies it into
        the session's PaymentIntent), so a decline can be told apart from one on another
        session of the order.
        """
        if not order.is_pending:
            raise InvalidOrder(f"order {order.order_id} is {order.status}, not PENDING")
        return cls._create(
            cls.declared_event("Initiated"),
            id=payment_id_for(order.order_id),
            timestamp=at,
            order_id=order.order_id,
            user_id=order.user_id,
            user_email=user_email,
            amount=order.total,
            lines=order.chargeable_lines(),
            checkout_session_id=checkout_session_id,
            checkout_url=checkout_url,
            expires_at=expires_at,
            checkout_attempt=checkout_attempt,
        )

    @event("Initiated")
    def __init__(
        self,
        order_id: str,
        user_id: str,
        user_email: str,
        amount: Money,
        lines: tuple[OrderLine, ...],
        checkout_session_id: str,
        checkout_url: str,
        expires_at: datetime,
        checkout_attempt: str = "",  # absent from payments opened before issue 11
    ) -> None:
        self.order_id = order_id
        self.user_id = user_id
        self.user_email = user_email
        self.amount = amount
        self.lines = lines
        self.checkout_session_id = checkout_session_id
        self.checkout_url = checkout_url
        self.expires_at = expires_at
        self.checkout_attempt = checkout_attempt
        self.status = PaymentStatus.INITIATED
        self.applied_stripe_events: set[str] = set()
        self.payment_intent: str | None = None
        self.customer_email: str | None = None
        self.amount_received: Money | None = None
        self.awaiting_async_payment = False
        self.failed_attempts = 0
        self.failure_reason: FailureReason | None = None
        self.decline_message: str | None = None
        self.refund_due: Money | None = None
        self.refund_id: str | None = None
        self.order_confirmed = False
        self.checkout_closed = False
        self.released_products: set[str] = set()
        self.order_cancelled = False
        self.order_found_cancelled = False
        self.stray_payments: dict[str, StrayPayment] = {}

    # -- state the rest of the system asks about ------------------------------

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL

    @property
    def is_open(self) -> bool:
        return self.status is PaymentStatus.INITIATED

    def has_applied(self, stripe_event_id: str) -> bool:
        return stripe_event_id in self.applied_stripe_events

    def owns_intent(self, payment_intent: str, checkout_attempt: str | None) -> bool:
        """Whether a PaymentIntent is the recorded session's: a decline on any other session
        of the order must not fail this payment."""
        if self.payment_intent:
            return payment_intent == self.payment_intent
        if checkout_attempt and self.checkout_attempt:
            return checkout_attempt == self.checkout_attempt
        # Unmarked (opened before issue 11): the recorded session's, unless a stray paid with it.
        strays = self.stray_payments.values()
        return all(stray.payment_intent != payment_intent for stray in strays)

    def reserved_stock(self) -> dict[str, int]:
        """Units reserved per product; an order may list a product on several lines.

        Stock is released per product because the inventory service's idempotency
        key is per order and product.
        """
        reserved: dict[str, int] = {}
        for line in self.lines:
            reserved[line.product_id] = reserved.get(line.product_id, 0) + line.quantity
        return reserved

    # -- what Stripe told us ---------------------------------------------------

    def succeed(
        self, stripe_event_id: str, payment_intent: str, customer_email: str, amount: Money
    ) -> None:
        """Money arrived. After a failure it belongs to a cancelled order: refund it.

        Money that is not the order's total (another amount or currency) never
        confirms the order: the payment fails and what arrived is refunded.
        """
        if self.has_applied(stripe_event_id):
            return
        self._refuse_implausible(amount)
        if self.status is PaymentStatus.INITIATED and amount != self.amount:
            reason = f"received {amount}, expected {self.amount}"
            self._failed(FailureReason.AMOUNT_MISMATCH, stripe_event_id, reason)
            self._refund_requested(stripe_event_id, payment_intent, amount, customer_email)
        elif self.status is PaymentStatus.INITIATED:
            self._succeeded(stripe_event_id, payment_intent, customer_email, amount)
        elif self.status is PaymentStatus.FAILED and self.refund_due is None:
            self._refund_requested(stripe_event_id, payment_intent, amount, customer_email)

    def _refuse_implausible(self, amount: Money) -> None:
        """Money no real charge has is not money received: it is never recorded."""
        why = implausible_charge(amount, self.amount)
        if why is not None:
            raise ImplausibleAmount(f"order {self.order_id}: {why}")

    def receive_stray_payment(
        self,
        stripe_event_id: str,
        session_id: str,
        payment_intent: str,
        customer_email: str,
        amount: Money,
    ) -> None:
        """Money paid on another Checkout Session of this order: recorded once per session,
        never confirming the order, owed back in full."""
        if self.has_applied(stripe_event_id) or session_id in self.stray_payments:
            return
        if session_id == self.checkout_session_id:
            raise ValueError(f"{session_id} is the recorded session of order {self.order_id}")
        self._refuse_implausible(amount)
        self._stray_payment_received(
            stripe_event_id, session_id, payment_intent, amount, customer_email
        )

    def await_async_payment(self, stripe_event_id: str, payment_intent: str) -> None:
        """Checkout completed with a delayed method: the result comes later."""
        if self.status is PaymentStatus.INITIATED and not self.has_applied(stripe_event_id):
            self._async_payment_awaited(stripe_event_id, payment_intent)

    def decline(
        self,
        stripe_event_id: str,
        payment_intent: str,
        decline_message: str,
        policy: FailedPaymentPolicy,
    ) -> None:
        """A card was declined; the session stays open at Stripe unless we close it."""
        if self.status is not PaymentStatus.INITIATED or self.has_applied(stripe_event_id):
            return
        if policy is FailedPaymentPolicy.RETRY:
            self._attempt_failed(stripe_event_id, payment_intent, decline_message)
        else:
            self._failed(FailureReason.PAYMENT_FAILED, stripe_event_id, decline_message)

    def fail(self, reason: FailureReason, stripe_event_id: str, decline_message: str = "") -> None:
        """The session expired or the delayed payment failed: the payment is over."""
        if self.status is PaymentStatus.INITIATED and not self.has_applied(stripe_event_id):
            self._failed(reason, stripe_event_id, decline_message)

    @event("Succeeded")
    def _succeeded(
        self, stripe_event_id: str, payment_intent: str, customer_email: str, amount_received: Money
    ) -> None:
        self.applied_stripe_events.add(stripe_event_id)
        self.status = PaymentStatus.SUCCESS
        self.payment_intent = payment_intent
        self.customer_email = customer_email
        self.amount_received = amount_received

    @event("AsyncPaymentAwaited")
    def _async_payment_awaited(self, stripe_event_id: str, payment_intent: str) -> None:
        self.applied_stripe_events.add(stripe_event_id)
        self.awaiting_async_payment = True
        self.payment_intent = payment_intent

    @event("AttemptFailed")
    def _attempt_failed(
        self, stripe_event_id: str, payment_intent: str, decline_message: str
    ) -> None:
        self.applied_stripe_events.add(stripe_event_id)
        self.failed_attempts += 1
        self.payment_intent = payment_intent
        self.decline_message = decline_message

    @event("Failed")
    def _failed(self, reason: FailureReason, stripe_event_id: str, decline_message: str) -> None:
        self.applied_stripe_events.add(stripe_event_id)
        self.status = PaymentStatus.FAILED
        self.failure_reason = reason
        self.decline_message = decline_message or None

    @event("StrayPaymentReceived")
    def _stray_payment_received(
        self,
        stripe_event_id: str,
        session_id: str,
        payment_intent: str,
        amount: Money,
        customer_email: str,
    ) -> None:
        self.applied_stripe_events.add(stripe_event_id)
        self.stray_payments[session_id] = StrayPayment(session_id, payment_intent, amount)

    @event("RefundRequested")
    def _refund_requested(
        self, stripe_event_id: str, payment_intent: str, amount: Money, customer_email: str
    ) -> None:
        self.applied_stripe_events.add(stripe_event_id)
        self.payment_intent = payment_intent
        self.customer_email = customer_email
        self.amount_received = amount
        self.refund_due = amount

    # -- what the outside world is owed ----------------------------------------

    def pending_effects(self) -> list[Effect]:
        """The calls the outside world is still owed, in the order they must happen."""
        effects: list[Effect] = []
        if self.owes_confirmation:
            effects.append(ConfirmOrder(self.order_id))
        if self.failure_reason is not None:
            effects.extend(self._cancellation_effects())
        if self.refund_due is not None and self.refund_id is None:
            # Without a payment intent the refund call fails loudly (and is parked with an
            # alert) rather than the money being forgotten.
            intent = self.payment_intent or ""
            effects.append(RefundPayment(self.order_id, intent, self.refund_due))
        effects.extend(
            RefundPayment(self.order_id, stray.payment_intent, stray.amount, stray.session_id)
            for stray in self.stray_payments.values()
            if not stray.refunded
        )
        return effects

    def _cancellation_effects(self) -> list[Effect]:
        if self.failure_reason is FailureReason.PAYMENT_FAILED and not self.checkout_closed:
            return [CloseCheckout(self.order_id, self.checkout_session_id)]
        releases: list[Effect] = [
            ReleaseStock(self.order_id, product_id, quantity)
            for product_id, quantity in self.reserved_stock().items()
            if product_id not in self.released_products
        ]
        if releases:
            return releases
        return [] if self.order_cancelled else [CancelOrder(self.order_id)]

    # -- what we did about it --------------------------------------------------

    @property
    def owes_confirmation(self) -> bool:
        return (
            self.status is PaymentStatus.SUCCESS
            and not self.order_confirmed
            and not self.order_found_cancelled
        )

    def record_order_confirmed(self) -> None:
        if self.owes_confirmation:
            self._order_confirmed()

    def record_order_found_cancelled(self) -> None:
        """The order service refused CONFIRMED because the order was cancelled elsewhere: the
        money is for a cancelled order, and is owed back in full (the payment ends REFUNDED)."""
        if self.owes_confirmation:
            self._order_found_cancelled()

    def record_checkout_closed(self, outcome: str) -> None:
        if self.failure_reason is not None and not self.checkout_closed:
            self._checkout_closed(outcome)

    def record_inventory_released(self, product_id: str) -> None:
        quantity = self.reserved_stock().get(product_id)
        if quantity is None or self.failure_reason is None or product_id in self.released_products:
            return
        self._inventory_released(product_id, quantity)

    def record_order_cancelled(self) -> None:
        if self.failure_reason is not None and not self.order_cancelled:
            self._order_cancelled()

    def record_refunded(self, refund_id: str) -> None:
        if self.refund_due is not None and self.refund_id is None:
            self._refunded(refund_id, self.refund_due)

    def record_stray_refunded(self, session_id: str, refund_id: str) -> None:
        stray = self.stray_payments.get(session_id)
        if stray is not None and not stray.refunded:
            self._stray_payment_refunded(session_id, refund_id, stray.amount)

    @event("OrderConfirmed")
    def _order_confirmed(self) -> None:
        self.order_confirmed = True

    @event("OrderFoundCancelled")
    def _order_found_cancelled(self) -> None:
        self.order_found_cancelled = True
        self.refund_due = self.amount_received or self.amount

    @event("CheckoutClosed")
    def _checkout_closed(self, outcome: str) -> None:
        self.checkout_closed = True

    @event("InventoryReleased")
    def _inventory_released(self, product_id: str, quantity: int) -> None:
        self.released_products.add(product_id)

    @event("OrderCancelled")
    def _order_cancelled(self) -> None:
        self.order_cancelled = True

    @event("Refunded")
    def _refunded(self, refund_id: str, amount: Money) -> None:
        self.refund_id = refund_id
        self.status = PaymentStatus.REFUNDED

    @event("StrayPaymentRefunded")
    def _stray_payment_refunded(self, session_id: str, refund_id: str, amount: Money) -> None:
        stray = self.stray_payments[session_id]
        self.stray_payments[session_id] = msgspec.structs.replace(stray, refund_id=refund_id)
