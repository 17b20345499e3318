"""Use case: perform what a payment still owes the order, inventory and Stripe, and record it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from uuid import UUID

from application.errors import CheckoutRejected, OrderNotFound, ServiceRejected
from application.ledger import PaymentConflict, PaymentLedger
from application.money_alerts import alert_on_money_going_back
from application.ports import CheckoutGateway, EffectMeter, Inventory, OrderDirectory
from domain.effects import (
    CancelOrder,
    CloseCheckout,
    ConfirmOrder,
    Effect,
    IssueRefund,
    RefundPayment,
    ReleaseStock,
)
from domain.order import OrderStatus
from domain.payment import Payment
from domain.refund import OWED_REFUND, STRAY_REFUND_PREFIX, refund_status

log = logging.getLogger(__name__)
CONFLICT_RETRIES = 5

Fact = Callable[[Payment], None]
"""Records on a payment what an effect achieved (`Payment.record_*`, a no-op if already there)."""

EVENTS_THAT_OWE_NOTHING = tuple(
    Payment.declared_event(name)
    for name in (
        "Initiated",
        "AsyncPaymentAwaited",
        "AttemptFailed",
        "OrderConfirmed",
        "CheckoutClosed",
        "InventoryReleased",
        "OrderCancelled",
        "Refunded",
        "OrderFoundCancelled",
        "StrayPaymentRefunded",
        "RefundRefused",
        "OwedRefundRefused",
        "DisputeOpened",
        "DisputeUpdated",
        "DisputeClosed",
    )
)
"""Events after which a payment owes nothing new: opening it, waiting, and the facts that
record an effect done (recorded by the worker that performed it, which looks again)."""


class EffectsFailed(Exception):
    """Some of a payment's effects failed; those that succeeded are already recorded."""

    def __init__(self, order_id: str, failures: Sequence[tuple[Effect, Exception]]) -> None:
        self.order_id = order_id
        self.failures = list(failures)
        super().__init__(
            "; ".join(f"{type(effect).__name__}: {error}" for effect, error in self.failures)
        )

    @property
    def refused(self) -> bool:
        """Every failure is a refusal (4xx) that retrying soon will not change."""
        return all(isinstance(error, ServiceRejected) for _, error in self.failures)


class SettlePayment:
    """Performs a payment's pending effects, all that may run at once, recording each fact.

    `pending_effects()` lists only effects that may run now and do not depend on each
    other (stock is released before the order is cancelled: the cancellation is listed
    once every release is recorded), so they run concurrently: a refund is sent even
    while a stock release is failing. Rounds repeat until nothing is owed or something
    failed; then `EffectsFailed` names what failed, with every success already saved.

    The calls are made at least once: a crash after a call and before its fact is
    saved repeats the call next time, which the neighbours make harmless (repeatable
    PATCH, idempotency keys). A recorded fact is never performed again, because
    `pending_effects()` no longer lists it.
    """

    def __init__(
        self,
        ledger: PaymentLedger,
        orders: OrderDirectory,
        inventory: Inventory,
        checkout: CheckoutGateway,
        meter: EffectMeter | None = None,
    ) -> None:
        self._ledger = ledger
        self._orders = orders
        self._inventory = inventory
        self._checkout = checkout
        self._meter = meter or _Unmetered()

    async def __call__(self, payment_id: UUID) -> int:
        """Settles the payment; returns how many effects it performed."""
        performed = 0
        payment = await asyncio.to_thread(self._ledger.load, payment_id)
        while True:
            effects = payment.pending_effects() if payment is not None else []
            if payment is None or not effects:
                return performed
            outcomes = await asyncio.gather(
                *(self._metered(payment, effect) for effect in effects), return_exceptions=True
            )
            facts: list[Fact] = []
            refusals: list[Fact] = []
            failures: list[tuple[Effect, Exception]] = []
            for effect, outcome in zip(effects, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    failures.append((effect, outcome))
                    refusals.extend(_refusal_noted(effect, outcome))
                elif isinstance(outcome, BaseException):
                    raise outcome  # cancelled: the process is stopping
                else:
                    facts.append(outcome)
                    _log_done(payment, effect)
            order_id = payment.order_id
            if facts or refusals:
                # Go on from the state just saved: an event someone else saved meanwhile
                # makes the payment due again (the queue's generation), so none is missed.
                payment = await asyncio.to_thread(self._record, payment, facts + refusals)
                performed += len(facts)
            if failures:
                raise EffectsFailed(order_id, failures)

    async def _metered(self, payment: Payment, effect: Effect) -> Fact:
        started = time.monotonic()
        try:
            fact = await self._perform(payment, effect)
        except ServiceRejected:
            self._meter.effect_called(effect, "refused", time.monotonic() - started)
            raise
        except Exception:
            self._meter.effect_called(effect, "failed", time.monotonic() - started)
            raise
        self._meter.effect_called(effect, "done", time.monotonic() - started)
        return fact

    async def _perform(self, payment: Payment, effect: Effect) -> Fact:
        match effect:
            case ConfirmOrder(order_id=order_id):
                return await self._confirm(order_id)
            case CloseCheckout(session_id=session_id):
                outcome = await self._checkout.expire_session(session_id)
                return lambda p: p.record_checkout_closed(outcome)
            case ReleaseStock(order_id=order_id, product_id=product_id, quantity=quantity):
                await self._inventory.release(order_id, product_id, quantity)
                return lambda p: p.record_inventory_released(product_id)
            case CancelOrder(order_id=order_id):
                await self._orders.set_status(order_id, OrderStatus.CANCELLED)
                return Payment.record_order_cancelled
            case RefundPayment():
                return await self._refund_owed(effect)
            case IssueRefund():
                return await self._issue_refund(effect)
        raise TypeError(f"unknown effect {effect!r} of order {payment.order_id}")

    async def _refund_owed(self, effect: RefundPayment) -> Fact:
        """Money the service owes back by itself: a late or wrong payment, a stray session's."""
        receipt = await self._checkout.refund(
            effect.payment_intent,
            effect.amount,
            refund_key(effect),
            metadata=refund_metadata(effect),
        )
        status = refund_status(receipt.status)
        stray = effect.stray_session
        if stray is not None:
            return lambda p: p.record_stray_refunded(stray, receipt.refund_id, status)
        return lambda p: p.record_refunded(receipt.refund_id, status)

    async def _issue_refund(self, effect: IssueRefund) -> Fact:
        """An operator's refund; one Stripe refuses for good is recorded failed, not retried
        (the operator may order another), and said so in an alert."""
        try:
            receipt = await self._checkout.refund(
                effect.payment_intent,
                effect.amount,
                f"refund:{effect.refund_id}",
                reason=effect.reason,
                metadata={"orderId": effect.order_id, "refundId": effect.refund_id},
            )
        except CheckoutRejected as refusal:
            why = str(refusal)
            return lambda p: p.record_refund_refused(effect.refund_id, why)
        status = refund_status(receipt.status)
        return lambda p: p.record_refund_sent(effect.refund_id, receipt.refund_id, status)

    async def _confirm(self, order_id: str) -> Fact:
        """CONFIRMED; refused because the order was cancelled elsewhere, the money is for a
        cancelled order: that is the fact, and it owes a refund. Other refusals stay refusals."""
        try:
            await self._orders.set_status(order_id, OrderStatus.CONFIRMED)
        except ServiceRejected as refusal:
            try:
                order = await self._orders.get(order_id)
            except OrderNotFound:
                raise refusal from None
            if order.status != OrderStatus.CANCELLED:
                raise
            log.error(
                "order service refused CONFIRMED: the order was cancelled elsewhere; "
                "refunding its payment",
                extra={"orderId": order_id, "error": str(refusal), "alert": True},
            )
            return Payment.record_order_found_cancelled
        return Payment.record_order_confirmed

    def _record(self, payment: Payment, facts: Sequence[Fact]) -> Payment | None:
        """Saves the facts and returns the payment as saved; on a concurrent write, reloads
        and records them on the newer state."""
        current: Payment | None = payment
        for _ in range(CONFLICT_RETRIES):
            if current is None:
                return None
            for fact in facts:
                fact(current)
            if not current.pending_events:
                return current
            recorded = list(current.pending_events)
            try:
                self._ledger.record(current)
            except PaymentConflict:
                current = self._ledger.load(payment.id)
                continue
            alert_on_money_going_back(current, recorded)
            return current
        raise PaymentConflict(f"order {payment.order_id}: too many concurrent writers")


def refund_key(refund: RefundPayment) -> str:
    """Stripe's idempotency key of a refund the service owes: one per PaymentIntent, each
    refunded once in full, so two refunds of one order (its own money, a stray session's)
    never share one. An operator's refund has its own, `refund:{refund_id}`."""
    if refund.payment_intent:
        return f"refund:{refund.payment_intent}"
    return f"refund:{refund.order_id}:{refund.stray_session or 'order'}"  # refused by Stripe


def refund_metadata(refund: RefundPayment) -> dict[str, str]:
    """What the refund's events carry back to us: its order, and which refund of it it is."""
    return {"orderId": refund.order_id, "refundId": owed_refund_id(refund)}


def owed_refund_id(refund: RefundPayment) -> str:
    """The payment's key of a refund the service owes: `owed` or `stray:{session}`."""
    if refund.stray_session is None:
        return OWED_REFUND
    return STRAY_REFUND_PREFIX + refund.stray_session


def _refusal_noted(effect: Effect, error: Exception) -> list[Fact]:
    """A refund the service owes that Stripe refused: still owed, and still asked for (the
    payment is parked), but recorded once so that one alert says the money is owed."""
    if not isinstance(effect, RefundPayment) or not isinstance(error, CheckoutRejected):
        return []
    refund_id, why = owed_refund_id(effect), str(error)
    return [lambda p: p.record_owed_refund_refused(refund_id, why)]


class _Unmetered:
    def effect_called(self, effect: Effect, outcome: str, seconds: float) -> None:
        pass


def _log_done(payment: Payment, effect: Effect) -> None:
    log.info(
        "payment effect done",
        extra={
            "orderId": payment.order_id,
            "sessionId": payment.checkout_session_id,
            "effect": type(effect).__name__,
        },
    )
