"""Use case: apply what Stripe webhooks that never arrived would have told us.

Two sources, both through `ApplyStripeEvent`, the webhook's own use case, so a
reconciled payment ends exactly where the webhook would have put it:

1. Stripe's events whose delivery has not succeeded (last `lookback`, 3 days by
   default, Stripe's own retry window), applied idempotently by their real id.
2. Payments still INITIATED past their session's `expires_at` plus a grace
   period: the session is retrieved and the equivalent event is built with a
   deterministic id `reconcile:{session_id}:{outcome}`, so a second run, or the
   real webhook arriving later, is a duplicate rather than a second effect.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import msgspec

from application.apply_stripe_event import PAID_STATUSES, ApplyStripeEvent, Outcome
from application.errors import CheckoutUnavailable
from application.ledger import PaymentLedger
from application.open_payments import OpenPayment, OpenPaymentsIndex
from application.ports import CheckoutGateway, CheckoutSession, Clock
from application.stripe_events import (
    CHECKOUT_COMPLETED,
    CHECKOUT_EXPIRED,
    PAYMENT_INTENT_FAILED,
    EventData,
    StripeEvent,
)

log = logging.getLogger(__name__)
DEFAULT_GRACE = timedelta(minutes=10)
DEFAULT_LOOKBACK = timedelta(days=3)


class ReconcileChange(msgspec.Struct, frozen=True, rename="camel"):
    """One payment that reconciliation moved on (or, in a dry run, would move on)."""

    order_id: str
    session_id: str
    event_id: str
    event_type: str
    status_after: str


class ReconcileSummary(msgspec.Struct, rename="camel"):
    """What a reconciliation run found and did."""

    dry_run: bool
    open_checked: int = 0
    still_open: int = 0
    undelivered_seen: int = 0
    changes: list[ReconcileChange] = msgspec.field(default_factory=list)
    errors: list[str] = msgspec.field(default_factory=list)


class Reconcile:
    """Catches up on missed webhooks; safe to run any number of times, concurrently too."""

    def __init__(
        self,
        ledger: PaymentLedger,
        checkout: CheckoutGateway,
        apply: ApplyStripeEvent,
        clock: Clock,
        open_payments: OpenPaymentsIndex,
        *,
        grace: timedelta = DEFAULT_GRACE,
        lookback: timedelta = DEFAULT_LOOKBACK,
    ) -> None:
        self._ledger = ledger
        self._checkout = checkout
        self._apply = apply
        self._clock = clock
        self._grace = grace
        self._lookback = lookback
        self._open = open_payments

    async def __call__(self, dry_run: bool = False) -> ReconcileSummary:
        summary = ReconcileSummary(dry_run=dry_run)
        await self._undelivered(summary)
        await self._overdue(summary)
        return summary

    async def _undelivered(self, summary: ReconcileSummary) -> None:
        try:
            events = await self._checkout.undelivered_events(self._clock.now() - self._lookback)
        except CheckoutUnavailable as error:
            summary.errors.append(f"listing undelivered events: {error}")
            return
        for event in events:
            summary.undelivered_seen += 1
            await self._submit(event, summary)

    async def _overdue(self, summary: ReconcileSummary) -> None:
        deadline = self._clock.now() - self._grace
        for payment in await asyncio.to_thread(self._open.refresh):
            if payment.expires_at > deadline:
                continue
            summary.open_checked += 1
            try:
                session = await self._checkout.retrieve_session(payment.session_id)
            except CheckoutUnavailable as error:
                summary.errors.append(f"order {payment.order_id}: {error}")
                continue
            event = await asyncio.to_thread(self._missed_event, payment, session)
            if event is None:
                summary.still_open += 1
            else:
                await self._submit(event, summary)

    def _missed_event(
        self, open_payment: OpenPayment, session: CheckoutSession
    ) -> StripeEvent | None:
        """The event Stripe sent (or will send) for the session as it now stands."""
        if session.status == "expired":
            return _session_event(CHECKOUT_EXPIRED, "expired", open_payment, session)
        if session.status != "complete":
            return None  # still open: Stripe expires it soon and we look again
        if session.payment_status in PAID_STATUSES:
            return _session_event(CHECKOUT_COMPLETED, "paid", open_payment, session)
        payment = self._ledger.load(open_payment.payment_id)
        if payment is None or payment.awaiting_async_payment:
            return None  # the async result is what we wait for now
        return _session_event(CHECKOUT_COMPLETED, "unpaid", open_payment, session)

    async def _submit(self, event: StripeEvent, summary: ReconcileSummary) -> None:
        if not event.is_handled:
            return
        if summary.dry_run:
            outcome = await asyncio.to_thread(self._apply.preview, event)
        else:
            outcome = await self._apply(event)
        if outcome is not Outcome.RECORDED:
            return
        session_id, order_id = _ids_of(event)
        payment = await asyncio.to_thread(self._ledger.find, order_id) if order_id else None
        status = "" if summary.dry_run or payment is None else payment.status.value
        summary.changes.append(ReconcileChange(order_id, session_id, event.id, event.type, status))
        log.info(
            "reconcile would apply a missed event"
            if summary.dry_run
            else "reconcile applied a missed event",
            extra={
                "orderId": order_id,
                "sessionId": session_id,
                "eventId": event.id,
                "eventType": event.type,
            },
        )


def _session_event(
    event_type: str, outcome: str, payment: OpenPayment, session: CheckoutSession
) -> StripeEvent:
    session_object: dict[str, Any] = {
        "id": session.session_id,
        "object": "checkout.session",
        "status": session.status,
        "payment_status": session.payment_status,
        "payment_intent": session.payment_intent,
        "client_reference_id": payment.order_id,
        "metadata": {"orderId": payment.order_id},
        "amount_total": session.amount_total,
        "currency": session.currency,
        "customer_email": session.customer_email,
    }
    return StripeEvent(
        id=f"reconcile:{session.session_id}:{outcome}",
        type=event_type,
        data=EventData(object=session_object),
    )


def _ids_of(event: StripeEvent) -> tuple[str, str]:
    if event.type == PAYMENT_INTENT_FAILED:
        return "", event.payment_intent().order_id or ""
    session = event.checkout_session()
    return session.id, session.order_id or ""
