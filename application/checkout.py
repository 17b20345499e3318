"""Use case: open (or reopen) the Stripe Checkout page for a user's PENDING order."""

from __future__ import annotations

import asyncio
import logging

import msgspec

from application.errors import OrderNotFound, OrderNotPayable, PaymentAlreadyCompleted
from application.identity import Caller
from application.ledger import PaymentConflict, PaymentLedger
from application.ports import CheckoutGateway, CheckoutRequest, Clock, OrderDirectory
from domain.errors import InvalidOrder
from domain.lifecycle import PaymentStatus
from domain.order import OrderSnapshot, OrderStatus
from domain.payment import Payment

log = logging.getLogger(__name__)


class CheckoutLink(msgspec.Struct, frozen=True):
    checkout_url: str
    session_id: str


class CreateCheckoutSession:
    """Checks the order, then opens one Stripe session per order, never two.

    A second call while the payment is open returns the same session without
    calling Stripe. Concurrent first calls share Stripe's idempotency key; the
    store's optimistic concurrency keeps one payment, and a loser whose session
    differs from the winner's expires its own so it can never be paid.
    """

    def __init__(
        self,
        ledger: PaymentLedger,
        orders: OrderDirectory,
        checkout: CheckoutGateway,
        clock: Clock,
    ) -> None:
        self._ledger = ledger
        self._orders = orders
        self._checkout = checkout
        self._clock = clock

    async def __call__(self, caller: Caller, order_id: str) -> CheckoutLink:
        order = await self._orders.get(order_id)
        if order.user_id != caller.user_id:
            raise OrderNotFound(order_id)
        if not order.is_pending:
            raise OrderNotPayable(order.status)
        existing = await asyncio.to_thread(self._ledger.find, order_id)
        if existing is not None:
            await self._refuse_if_order_changed(existing, order)
            return self._existing_link(existing)
        request = CheckoutRequest(order, caller.email, f"checkout:{order_id}")
        session = await self._checkout.open_session(request)
        payment = Payment.initiate(
            order,
            user_email=caller.email,
            checkout_session_id=session.session_id,
            checkout_url=session.url,
            expires_at=session.expires_at,
            at=self._clock.now(),
            checkout_attempt=session.attempt,
        )
        try:
            await asyncio.to_thread(self._ledger.record, payment)
        except PaymentConflict:
            return await self._lost_race(order_id, session.session_id)
        log.info(
            "checkout session opened",
            extra={"orderId": order_id, "sessionId": session.session_id},
        )
        return CheckoutLink(session.url, session.session_id)

    async def _refuse_if_order_changed(self, payment: Payment, order: OrderSnapshot) -> None:
        """An open session charges what the order was; if the order changed, close it.

        Its expiry then fails the payment and cancels the order: nobody can pay a
        stale amount, and the order service's total stays the one that counts.
        """
        if not payment.is_open or (payment.amount, payment.lines) == (order.total, order.lines):
            return
        log.error(
            "order changed after its checkout session opened; closing the session",
            extra={"orderId": order.order_id, "sessionId": payment.checkout_session_id},
        )
        await self._checkout.expire_session(payment.checkout_session_id)
        raise InvalidOrder(f"order {order.order_id} changed after its checkout session opened")

    def _existing_link(self, payment: Payment) -> CheckoutLink:
        if payment.settled_status is PaymentStatus.SUCCESS:  # refunded since, too
            raise PaymentAlreadyCompleted(payment.order_id)
        if payment.is_terminal:
            # The order is being cancelled; the processor has not told the order service yet.
            raise OrderNotPayable(OrderStatus.CANCELLED)
        return CheckoutLink(payment.checkout_url, payment.checkout_session_id)

    async def _lost_race(self, order_id: str, our_session_id: str) -> CheckoutLink:
        winner = await asyncio.to_thread(self._ledger.find, order_id)
        if winner is None:  # pragma: no cover - a conflict implies a stored payment
            raise OrderNotFound(order_id)
        if winner.checkout_session_id != our_session_id:
            await self._expire_duplicate(order_id, our_session_id)
        return self._existing_link(winner)

    async def _expire_duplicate(self, order_id: str, session_id: str) -> None:
        """Closes the loser's session; if Stripe fails, the winner's link is still the answer."""
        extra = {"orderId": order_id, "sessionId": session_id}
        log.warning("expiring a duplicate checkout session", extra=extra)
        try:
            await self._checkout.expire_session(session_id)
        except Exception as error:
            # The user must not get a 500 for it: the order has its payment. The duplicate
            # stays payable until Stripe expires it, so someone should expire it by hand.
            log.error(
                "a duplicate checkout session could not be expired; expire it at Stripe",
                extra={**extra, "error": f"{type(error).__name__}: {error}", "alert": True},
            )
