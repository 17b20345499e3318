"""Use case: perform what a payment still owes the order, inventory and Stripe, and record it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from uuid import UUID

from application.ledger import PaymentConflict, PaymentLedger
from application.ports import CheckoutGateway, InventoryLedger, OrderDirectory
from domain.effects import (
    CancelOrder,
    CloseCheckout,
    ConfirmOrder,
    Effect,
    RefundPayment,
    ReleaseStock,
)
from domain.payment import Payment

log = logging.getLogger(__name__)
CONFLICT_RETRIES = 5

Fact = Callable[[Payment], None]
"""Records on a payment what an effect achieved (`Payment.record_*`, a no-op if already there)."""


class SettlePayment:
    """Performs a payment's pending effects one by one, recording each right after its call.

    The calls are made at least once: a crash after a call and before its fact is
    saved repeats the call next time, which the neighbours make harmless (repeatable
    PATCH, idempotency keys). A recorded fact is never performed again, because
    `pending_effects()` no longer lists it. Errors from a neighbour propagate
    unchanged, with every fact achieved before them already saved.
    """

    def __init__(
        self,
        ledger: PaymentLedger,
        orders: OrderDirectory,
        inventory: InventoryLedger,
        checkout: CheckoutGateway,
    ) -> None:
        self._ledger = ledger
        self._orders = orders
        self._inventory = inventory
        self._checkout = checkout

    async def __call__(self, payment_id: UUID) -> int:
        """Settles the payment; returns how many effects it performed."""
        performed = 0
        while True:
            payment = await asyncio.to_thread(self._ledger.load, payment_id)
            effects = payment.pending_effects() if payment is not None else []
            if payment is None or not effects:
                return performed
            fact = await self._perform(payment, effects[0])
            await asyncio.to_thread(self._record, payment, fact)
            performed += 1
            log.info(
                "payment effect recorded",
                extra={
                    "orderId": payment.order_id,
                    "sessionId": payment.checkout_session_id,
                    "effect": type(effects[0]).__name__,
                },
            )

    async def _perform(self, payment: Payment, effect: Effect) -> Fact:
        match effect:
            case ConfirmOrder(order_id=order_id):
                await self._orders.set_status(order_id, "CONFIRMED")
                return Payment.record_order_confirmed
            case CloseCheckout(session_id=session_id):
                outcome = await self._checkout.expire_session(session_id)
                return lambda p: p.record_checkout_closed(outcome)
            case ReleaseStock(order_id=order_id, product_id=product_id, quantity=quantity):
                await self._inventory.release(order_id, product_id, quantity)
                return lambda p: p.record_inventory_released(product_id)
            case CancelOrder(order_id=order_id):
                await self._orders.set_status(order_id, "CANCELLED")
                return Payment.record_order_cancelled
            case RefundPayment(order_id=order_id, payment_intent=intent, amount=amount):
                refund_id = await self._checkout.refund(
                    intent, amount, idempotency_key=f"refund:{order_id}"
                )
                return lambda p: p.record_refunded(refund_id)
        raise TypeError(f"unknown effect {effect!r} of order {payment.order_id}")

    def _record(self, payment: Payment, fact: Fact) -> None:
        """Saves the fact; on a concurrent write, reloads and records it on the newer state."""
        current: Payment | None = payment
        for _ in range(CONFLICT_RETRIES):
            if current is None:
                return
            fact(current)
            if not current.pending_events:
                return
            try:
                self._ledger.record(current)
            except PaymentConflict:
                current = self._ledger.load(payment.id)
                continue
            return
        raise PaymentConflict(f"order {payment.order_id}: too many concurrent writers")
