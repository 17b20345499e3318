"""Use case: apply what Stripe webhooks that never arrived would have told us.

Three sources, all through `ApplyStripeEvent`, the webhook's own use case, so a
reconciled payment ends exactly where the webhook would have put it:

1. Stripe's events whose delivery has not succeeded (last `lookback`: 30 days by
   default, as far back as Stripe lists them), applied idempotently by their real id,
   oldest first: every type the service handles, refunds and disputes too.
2. Overdue open payments, resolved from Stripe's objects: still INITIATED past their
   session's `expires_at` plus a grace period, or waiting on a delayed method longer
   than `delayed_limit`. The session is retrieved (and its PaymentIntent, for a delayed
   method) and the equivalent event is built with a deterministic id
   `reconcile:{session_id}:{outcome}`, so a second run, or the real webhook arriving
   later, is a duplicate rather than a second effect.
3. Money going back that Stripe has not settled: refunds still `pending` or
   `requires_action`, and disputes still open, `money_back_wait` after the payment's last
   news, are read back from Stripe; a new status is applied as the event Stripe sends
   for it, with id `reconcile:{refund or dispute}:{status}` (ADR 0024). This catches
   what the first source cannot: news older than Stripe's 30 days, or an event Stripe
   never counted as undelivered.

And one clean-up: open Checkout Sessions of ours that no payment records (a create that
failed after Stripe made the session, a race whose loser could not expire its own) are
expired, since nobody holds their URL (ADR 0018).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import msgspec

from application.apply_stripe_event import PAID_STATUSES, ApplyStripeEvent, Outcome
from application.errors import CheckoutUnavailable
from application.ledger import PaymentLedger
from application.open_payments import OpenPayment, OpenPaymentsIndex
from application.ports import CheckoutGateway, CheckoutSession, Clock
from application.reconcile_money_back import DEFAULT_MONEY_BACK_WAIT, dispute_news, refund_news
from application.stripe_events import (
    CHECKOUT_ASYNC_FAILED,
    CHECKOUT_ASYNC_SUCCEEDED,
    CHECKOUT_COMPLETED,
    CHECKOUT_EVENTS,
    CHECKOUT_EXPIRED,
    MONEY_BACK_EVENTS,
    EventData,
    StripeEvent,
)
from application.unsettled_money_back import (
    Awaited,
    UnsettledMoneyBack,
    UnsettledMoneyBackIndex,
)

log = logging.getLogger(__name__)
DEFAULT_GRACE = timedelta(minutes=10)
DEFAULT_LOOKBACK = timedelta(days=30)  # Stripe lists events of the last 30 days
DEFAULT_DELAYED_LIMIT = timedelta(hours=72)
# Checkout Sessions live 24 hours at most: an older one is no longer open.
SESSION_LIFETIME = timedelta(hours=25)
# A delayed payment that failed at Stripe leaves its PaymentIntent in one of these.
FAILED_INTENT_STATUSES = frozenset({"requires_payment_method", "canceled"})


class ReconcileChange(msgspec.Struct, frozen=True, rename="camel"):
    """One payment that reconciliation moved on (or, in a dry run, would move on)."""

    order_id: str
    session_id: str
    event_id: str
    event_type: str
    status_after: str
    object_id: str = ""
    """The refund, dispute or charge a money-back event is about (`re_…`, `du_…`, `ch_…`)."""


class ReconcileSummary(msgspec.Struct, rename="camel"):
    """What a reconciliation run found and did."""

    dry_run: bool
    open_checked: int = 0
    still_open: int = 0
    undelivered_seen: int = 0
    refunds_checked: int = 0
    disputes_checked: int = 0
    strays_closed: list[str] = msgspec.field(default_factory=list)
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
        delayed_limit: timedelta = DEFAULT_DELAYED_LIMIT,
        unsettled: UnsettledMoneyBackIndex | None = None,
        money_back_wait: timedelta = DEFAULT_MONEY_BACK_WAIT,
    ) -> None:
        self._ledger = ledger
        self._checkout = checkout
        self._apply = apply
        self._clock = clock
        self._grace = grace
        self._lookback = lookback
        self._delayed_limit = delayed_limit
        self._open = open_payments
        self._unsettled = unsettled
        self._money_back_wait = money_back_wait

    async def __call__(self, dry_run: bool = False) -> ReconcileSummary:
        summary = ReconcileSummary(dry_run=dry_run)
        await self._undelivered(summary)
        await self._overdue(summary)
        await self._money_back(summary)
        await self._close_strays(summary)
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
        for payment in await asyncio.to_thread(self._open.refresh):
            if not self._is_overdue(payment):
                continue
            summary.open_checked += 1
            try:
                session = await self._checkout.retrieve_session(payment.session_id)
                event = await self._missed_event(payment, session)
            except CheckoutUnavailable as error:
                summary.errors.append(f"order {payment.order_id}: {error}")
                continue
            if event is None:
                summary.still_open += 1
            else:
                await self._submit(event, summary)

    def _is_overdue(self, payment: OpenPayment) -> bool:
        now = self._clock.now()
        if payment.awaiting_since is not None:  # the session is complete; its money is not
            return payment.awaiting_since <= now - self._delayed_limit
        return payment.expires_at <= now - self._grace

    async def _missed_event(
        self, open_payment: OpenPayment, session: CheckoutSession
    ) -> StripeEvent | None:
        """The event Stripe sent (or will send) for the session as it now stands."""
        if session.status == "expired":
            return _session_event(CHECKOUT_EXPIRED, "expired", open_payment, session)
        if session.status != "complete":
            return None  # still open: Stripe expires it soon and we look again
        if session.payment_status in PAID_STATUSES:
            return _session_event(CHECKOUT_COMPLETED, "paid", open_payment, session)
        return await self._delayed_outcome(open_payment, session)

    async def _delayed_outcome(
        self, open_payment: OpenPayment, session: CheckoutSession
    ) -> StripeEvent | None:
        """Complete but unpaid: a delayed method (a bank debit), decided by its PaymentIntent."""
        intent = (
            await self._checkout.retrieve_payment_intent(session.payment_intent)
            if session.payment_intent
            else None
        )
        if intent is not None and intent.status in FAILED_INTENT_STATUSES:
            return _session_event(CHECKOUT_ASYNC_FAILED, "async_failed", open_payment, session)
        if intent is not None and intent.status == "succeeded":
            return _session_event(CHECKOUT_ASYNC_SUCCEEDED, "paid", open_payment, session)
        if open_payment.awaiting_since is not None:
            return None  # still on its way: the async result is what we wait for
        return _session_event(CHECKOUT_COMPLETED, "unpaid", open_payment, session)

    async def _money_back(self, summary: ReconcileSummary) -> None:
        """Refunds and disputes Stripe has been silent about for `money_back_wait`, read back.

        One already moved on by this run (an undelivered event; in a dry run, not recorded
        yet) is left alone: a real run would find it settled.
        """
        if self._unsettled is None:
            return
        silent_since = self._clock.now() - self._money_back_wait
        for payment in await asyncio.to_thread(self._unsettled.refresh):
            if payment.last_news > silent_since:
                continue
            moved = {change.object_id for change in summary.changes}
            for refund in payment.refunds:
                if refund.stripe_id not in moved:
                    summary.refunds_checked += 1
                    await self._read_back_refund(payment, refund, summary)
            for dispute in payment.disputes:
                if dispute.stripe_id not in moved:
                    summary.disputes_checked += 1
                    await self._read_back_dispute(payment, dispute, summary)

    async def _read_back_refund(
        self, payment: UnsettledMoneyBack, refund: Awaited, summary: ReconcileSummary
    ) -> None:
        try:
            found = await self._checkout.retrieve_refund(refund.stripe_id)
        except CheckoutUnavailable as error:
            summary.errors.append(f"order {payment.order_id}: refund {refund.stripe_id}: {error}")
            return
        event = refund_news(refund, found)
        if event is not None:
            await self._submit(event, summary, payment.order_id)

    async def _read_back_dispute(
        self, payment: UnsettledMoneyBack, dispute: Awaited, summary: ReconcileSummary
    ) -> None:
        try:
            found = await self._checkout.retrieve_dispute(dispute.stripe_id)
        except CheckoutUnavailable as error:
            summary.errors.append(f"order {payment.order_id}: dispute {dispute.stripe_id}: {error}")
            return
        event = dispute_news(dispute, found)
        if event is not None:
            await self._submit(event, summary, payment.order_id)

    async def _close_strays(self, summary: ReconcileSummary) -> None:
        """Expires open sessions of ours that no payment records: nobody holds their URL.

        A session of an order whose payment records another one can never be recorded
        (an order's payment keeps its session); one of an order without a payment is
        left `grace` long, in case its create is still recording it.
        """
        now = self._clock.now()
        try:
            sessions = await self._checkout.open_sessions(now - SESSION_LIFETIME)
        except CheckoutUnavailable as error:
            summary.errors.append(f"listing open checkout sessions: {error}")
            return
        recorded = {p.session_id for p in await asyncio.to_thread(self._open.refresh)}
        for session in sessions:
            if session.session_id in recorded or not session.order_id:
                continue
            payment = await asyncio.to_thread(self._ledger.find, session.order_id)
            if payment is not None and payment.checkout_session_id == session.session_id:
                continue
            if payment is None and not _opened_by_us_before(session, now - self._grace):
                continue
            await self._close_stray(session, summary)

    async def _close_stray(self, session: CheckoutSession, summary: ReconcileSummary) -> None:
        extra = {"orderId": session.order_id, "sessionId": session.session_id}
        if not summary.dry_run:
            try:
                await self._checkout.expire_session(session.session_id)
            except CheckoutUnavailable as error:
                summary.errors.append(f"expiring stray session {session.session_id}: {error}")
                return
        summary.strays_closed.append(session.session_id)
        log.warning(
            "reconcile would expire a checkout session no payment records"
            if summary.dry_run
            else "reconcile expired a checkout session no payment records",
            extra=extra,
        )

    async def _submit(
        self, event: StripeEvent, summary: ReconcileSummary, order_id: str | None = None
    ) -> None:
        """Applies (or, in a dry run, previews) the event; `order_id` if already known."""
        if not event.is_handled:
            return
        try:
            order_id = order_id or await self._apply.order_of(event)
        except CheckoutUnavailable as error:
            summary.errors.append(f"event {event.id}: {error}")
            return
        if summary.dry_run:
            outcome = await asyncio.to_thread(self._apply.preview, event, order_id)
        else:
            outcome = await asyncio.to_thread(self._apply.apply, event, order_id)
        if outcome is not Outcome.RECORDED:
            return
        order_id = order_id or ""
        payment = await asyncio.to_thread(self._ledger.find, order_id) if order_id else None
        session_id = _session_of(event) or (payment.checkout_session_id if payment else "")
        status = "" if summary.dry_run or payment is None else payment.status.value
        object_id = event.money_back().id if event.type in MONEY_BACK_EVENTS else ""
        summary.changes.append(
            ReconcileChange(order_id, session_id, event.id, event.type, status, object_id)
        )
        log.info(
            "reconcile would apply a missed event"
            if summary.dry_run
            else "reconcile applied a missed event",
            extra={
                "orderId": order_id,
                "sessionId": session_id,
                "eventId": event.id,
                "eventType": event.type,
                "stripeObjectId": object_id,
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


def _opened_by_us_before(session: CheckoutSession, moment: datetime) -> bool:
    """Marked by one of our create attempts (not another integration's), before `moment`."""
    return bool(session.attempt) and session.created is not None and session.created <= moment


def _session_of(event: StripeEvent) -> str:
    return event.checkout_session().id if event.type in CHECKOUT_EVENTS else ""
