"""Use case: record what a (verified) Stripe event means for an order's payment."""

from __future__ import annotations

import asyncio
import logging
import re
from enum import StrEnum

from application.errors import CheckoutRejected
from application.ledger import PaymentConflict, PaymentLedger
from application.money_alerts import alert_on_money_going_back
from application.money_back import concerns, record_money_back
from application.ports import CheckoutGateway
from application.stripe_events import (
    CHECKOUT_ASYNC_FAILED,
    CHECKOUT_ASYNC_SUCCEEDED,
    CHECKOUT_COMPLETED,
    CHECKOUT_EVENTS,
    CHECKOUT_EXPIRED,
    MONEY_BACK_EVENTS,
    PAYMENT_INTENT_FAILED,
    CheckoutSessionObject,
    StripeEvent,
)
from domain.errors import ImplausibleAmount
from domain.lifecycle import FailedPaymentPolicy, FailureReason
from domain.money import Money
from domain.payment import Payment

log = logging.getLogger(__name__)
# Fulfil only on `paid` (STRIPE_FACTS); we never open a session that needs no payment.
PAID_STATUSES = frozenset({"paid"})
CONFLICT_RETRIES = 5
PAYMENT_INTENT_ID = re.compile(r"pi_[A-Za-z0-9_]{1,250}")


class Outcome(StrEnum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    NO_CHANGE = "no_change"
    IGNORED = "ignored"


class ApplyStripeEvent:
    """Applies an event at most once, in the same write that records it.

    Duplicates, stale events after a terminal state and events about sessions
    that are not ours change nothing; the webhook still answers 200.

    A refund, charge or dispute event no orderId names (a dispute, a refund made in the
    dashboard) is traced to its order through its PaymentIntent's metadata, read from
    Stripe (`checkout`); without it such an event is not ours.
    """

    def __init__(
        self,
        ledger: PaymentLedger,
        policy: FailedPaymentPolicy,
        checkout: CheckoutGateway | None = None,
    ) -> None:
        self._ledger = ledger
        self._policy = policy
        self._checkout = checkout

    async def __call__(self, event: StripeEvent) -> Outcome:
        order_id = await self.order_of(event)
        return await asyncio.to_thread(self.apply, event, order_id)

    async def order_of(self, event: StripeEvent) -> str | None:
        """The order the event is about: named in its object, or in its PaymentIntent's."""
        named = self._order_id_of(event)
        if named or event.type not in MONEY_BACK_EVENTS or self._checkout is None:
            return named
        intent = event.money_back().payment_intent
        if not intent or not PAYMENT_INTENT_ID.fullmatch(intent):
            return None  # no PaymentIntent of Stripe's: nothing to ask Stripe about
        try:
            return (await self._checkout.retrieve_payment_intent(intent)).order_id
        except CheckoutRejected:  # no PaymentIntent Stripe knows: not ours
            return None

    def apply(self, event: StripeEvent, order_id: str | None = None) -> Outcome:
        """Records the event; `order_id` as `order_of` found it (else named in the event)."""
        order_id = order_id or self._order_id_of(event)
        for _ in range(CONFLICT_RETRIES):
            payment = self._ledger.find(order_id) if order_id else None
            if payment is None:
                _alert_if_orphan_money(event, order_id)
            if payment is None or not self._concerns(payment, event):
                self._log(event, order_id, "ignored: not a payment of ours")
                return Outcome.IGNORED
            if payment.has_applied(event.id):
                self._log(event, order_id, "duplicate delivery")
                return Outcome.DUPLICATE
            try:
                self._decide(payment, event)
            except ImplausibleAmount as error:
                _alert_implausible(event, order_id, error)
                return Outcome.IGNORED
            if not payment.pending_events:
                self._log(event, order_id, "no change")
                return Outcome.NO_CHANGE
            recorded = list(payment.pending_events)
            try:
                self._ledger.record(payment)
            except PaymentConflict:
                continue
            self._log(event, order_id, "recorded", status=payment.status.value)
            _alert_if_stray_money(payment, event)
            alert_on_money_going_back(payment, recorded)
            return Outcome.RECORDED
        raise PaymentConflict(f"order {order_id}: too many concurrent writers")

    def preview(self, event: StripeEvent, order_id: str | None = None) -> Outcome:
        """What `apply` would do now, recording nothing (for `payments reconcile --dry-run`)."""
        order_id = order_id or self._order_id_of(event)
        payment = self._ledger.find(order_id) if order_id else None
        if payment is None or not self._concerns(payment, event):
            return Outcome.IGNORED
        if payment.has_applied(event.id):
            return Outcome.DUPLICATE
        try:
            self._decide(payment, event)
        except ImplausibleAmount:
            return Outcome.IGNORED
        return Outcome.RECORDED if payment.pending_events else Outcome.NO_CHANGE

    @staticmethod
    def _order_id_of(event: StripeEvent) -> str | None:
        if event.type in CHECKOUT_EVENTS:
            return event.checkout_session().order_id
        if event.type == PAYMENT_INTENT_FAILED:
            return event.payment_intent().order_id
        if event.type in MONEY_BACK_EVENTS:
            return event.money_back().order_id
        return None

    @staticmethod
    def _concerns(payment: Payment, event: StripeEvent) -> bool:
        """The event is about the order's recorded session, or is money paid on another one.

        Any session whose metadata names the order is ours (Stripe signed the event, and
        only we open sessions for our orders): a duplicate whose expiry failed, a create
        that lost a race. Only its money matters; its other news changes nothing here.
        """
        if event.type == PAYMENT_INTENT_FAILED:
            intent = event.payment_intent()
            if payment.owns_intent(intent.id, intent.checkout_attempt):
                return True
            log.warning(
                "declined payment on a checkout session that is not the order's recorded one",
                extra={
                    "orderId": payment.order_id,
                    "eventId": event.id,
                    "paymentIntent": intent.id,
                },
            )
            return False
        if event.type in MONEY_BACK_EVENTS:
            return concerns(payment, event)
        if event.type not in CHECKOUT_EVENTS:
            return True
        session = event.checkout_session()
        return session.id == payment.checkout_session_id or _is_money(event, session)

    def _decide(self, payment: Payment, event: StripeEvent) -> None:
        if event.type in MONEY_BACK_EVENTS:
            record_money_back(payment, event)
            return
        if event.type == PAYMENT_INTENT_FAILED:
            intent = event.payment_intent()
            payment.decline(event.id, intent.id, intent.decline_message, self._policy)
            return
        session = event.checkout_session()
        if session.id != payment.checkout_session_id:
            payment.receive_stray_payment(
                event.id,
                session.id,
                session.payment_intent or "",
                session.payer_email,
                _amount_of(session, payment),
            )
        elif event.type == CHECKOUT_EXPIRED:
            payment.fail(FailureReason.EXPIRED, event.id)
        elif event.type == CHECKOUT_ASYNC_FAILED:
            payment.fail(FailureReason.ASYNC_FAILED, event.id)
        elif _is_money(event, session):
            payment.succeed(
                event.id,
                session.payment_intent or "",
                session.payer_email,
                _amount_of(session, payment),
            )
        elif event.type == CHECKOUT_COMPLETED:
            payment.await_async_payment(event.id, session.payment_intent or "")

    @staticmethod
    def _log(event: StripeEvent, order_id: str | None, what: str, **extra: str) -> None:
        log.info(
            f"stripe event {what}",
            extra={"eventId": event.id, "eventType": event.type, "orderId": order_id, **extra},
        )


def _is_money(event: StripeEvent, session: CheckoutSessionObject) -> bool:
    """Money arrived on the session: a paid completion, or a delayed method's success."""
    return event.type == CHECKOUT_ASYNC_SUCCEEDED or (
        event.type == CHECKOUT_COMPLETED and session.payment_status in PAID_STATUSES
    )


def _alert_if_stray_money(payment: Payment, event: StripeEvent) -> None:
    if event.type not in CHECKOUT_EVENTS:
        return
    session = event.checkout_session()
    if session.id == payment.checkout_session_id:
        return
    log.error(
        "money paid on a checkout session that is not the order's recorded one; refunding it",
        extra={
            "orderId": payment.order_id,
            "sessionId": session.id,
            "recordedSessionId": payment.checkout_session_id,
            "paymentIntent": session.payment_intent,
            "eventId": event.id,
            "alert": True,
        },
    )


def _alert_if_orphan_money(event: StripeEvent, order_id: str | None) -> None:
    """Money on a session one of our creates opened, for an order with no payment (its
    create failed after Stripe made it): there is no payment to refund it through."""
    if event.type not in CHECKOUT_EVENTS:
        return
    session = event.checkout_session()
    if not _is_money(event, session) or "checkoutAttempt" not in (session.metadata or {}):
        return
    log.error(
        "money paid on a checkout session of ours for an order without a payment; "
        "refund it in the Stripe dashboard",
        extra={
            "orderId": order_id,
            "sessionId": session.id,
            "paymentIntent": session.payment_intent,
            "eventId": event.id,
            "alert": True,
        },
    )


def _alert_implausible(event: StripeEvent, order_id: str | None, error: ImplausibleAmount) -> None:
    """Signed by Stripe, yet no real charge: someone must look (a bug, or a leaked secret)."""
    log.error(
        "stripe event reports an impossible amount; nothing recorded",
        extra={
            "eventId": event.id,
            "eventType": event.type,
            "orderId": order_id,
            "error": str(error),
            "alert": True,
        },
    )


def _amount_of(session: CheckoutSessionObject, payment: Payment) -> Money:
    if session.amount_total is None:
        return payment.amount
    return Money(session.amount_total, (session.currency or payment.amount.currency).lower())
