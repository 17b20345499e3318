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
from domain.charge_limits import MAX_CHARGE_MINOR, implausible_charge
from domain.dispute import Dispute
from domain.effects import (
    CancelOrder,
    CloseCheckout,
    ConfirmOrder,
    Effect,
    IssueRefund,
    RefundPayment,
    ReleaseStock,
)
from domain.errors import (
    ImplausibleAmount,
    InvalidOrder,
    InvalidRefundAmount,
    InvalidRefundReason,
    PaymentNotRefundable,
    RefundExceedsRefundable,
)
from domain.lifecycle import FailedPaymentPolicy, FailureReason, PaymentStatus
from domain.money import Money
from domain.money_returned import money_returned
from domain.order import OrderLine, OrderSnapshot
from domain.refund import (
    EXTERNAL_REFUND_PREFIX,
    OWED_REFUND,
    REFUND_REASONS,
    STRAY_REFUND_PREFIX,
    Refund,
    RefundOrigin,
    RefundReport,
    RefundStatus,
    is_reserved_refund_id,
)
from domain.stray_payment import StrayPayment

PAYMENT_NAMESPACE = UUID("6f1c8a52-3d0e-5b7a-9c11-2f6a4b8e0d37")


def payment_id_for(order_id: str) -> UUID:
    """One payment per order: the id is derived, so a second one cannot be created."""
    return uuid5(PAYMENT_NAMESPACE, order_id)


class Payment(ChainedAggregate):
    """Records every fact about an order's payment; never overwrites a terminal state."""

    TERMINAL: ClassVar[frozenset[PaymentStatus]] = frozenset(
        {
            PaymentStatus.SUCCESS,
            PaymentStatus.FAILED,
            PaymentStatus.PARTIALLY_REFUNDED,
            PaymentStatus.REFUNDED,
        }
    )
    REFUNDABLE: ClassVar[frozenset[PaymentStatus]] = frozenset(
        {PaymentStatus.SUCCESS, PaymentStatus.PARTIALLY_REFUNDED}
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
        # What the payment's own events decided (INITIATED, SUCCESS, FAILED); `status` is
        # it, moved on by the money that went back (`_restate`).
        self.settled_status = PaymentStatus.INITIATED
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
        self.refused_owed_refunds: set[str] = set()
        self.refunds: dict[str, Refund] = {}
        self.disputes: dict[str, Dispute] = {}

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
        elif self.settled_status is PaymentStatus.FAILED and self.refund_due is None:
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
        self.settled_status = PaymentStatus.SUCCESS
        self.payment_intent = payment_intent
        self.customer_email = customer_email
        self.amount_received = amount_received
        self._restate()

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
        self.settled_status = PaymentStatus.FAILED
        self.failure_reason = reason
        self.decline_message = decline_message or None
        self._restate()

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
        self._restate()

    # -- money going back: refunds and disputes (ADR 0022) -------------------------

    @property
    def received(self) -> Money | None:
        """The order's money that arrived (a stray session's is not the order's)."""
        return self.amount_received

    @property
    def refund_currency(self) -> str:
        """The currency of the money going back: the money received (refunds, disputes and
        what is owed back are in the charge's currency), the order's until any arrived.
        Only money that came in another currency (a FAILED payment) makes them differ."""
        return (self.received or self.amount).currency

    @property
    def refunded_amount(self) -> Money:
        """Refunds pending, needing action or succeeded, and lost disputes; never more than
        was received."""
        received = self.received
        live = money_returned(self.refunds.values(), self.disputes.values()).live
        return Money(min(live, received.minor if received else 0), self.refund_currency)

    @property
    def refundable(self) -> Money:
        """What an operator may still refund: received, less live refunds and lost disputes."""
        received = self.received
        if received is None:
            return Money(0, self.amount.currency)
        return Money(received.minor - self.refunded_amount.minor, received.currency)

    @property
    def refund_owed(self) -> Money:
        """What the service owes back by itself (a late payment, a wrong amount, an order
        cancelled at the shop) that no refund pending or succeeded, nor a lost dispute,
        covers: its refund not sent yet, or failed at Stripe and left for a person (it is
        not retried). A stray session's money is not the order's, and not counted here."""
        uncovered = self._owed_uncovered()
        return uncovered or Money(0, self.refund_currency)

    def _owed_uncovered(self) -> Money | None:
        """The one rule for what the service still owes back by itself, for the status and
        for the refund it sends alike: its refund's amount, less the money that went back
        some other way (refunds pending, needing action or succeeded; lost disputes, which
        gave the cardholder the money already). None: the service owes nothing of its own."""
        if self.refund_due is None:
            return None
        received = self.amount_received or self.refund_due
        live = money_returned(self.refunds.values(), self.disputes.values()).live
        owed = min(self.refund_due.minor, received.minor - live)
        return Money(max(owed, 0), self.refund_due.currency)

    def refund(self, refund_id: str) -> Refund | None:
        """A refund by its key: an operator's refund id (`request_refund`), `owed`,
        `stray:{session}` or `external:{Stripe's id}`."""
        return self.refunds.get(refund_id)

    @property
    def dispute(self) -> Dispute | None:
        """The latest dispute Stripe opened on the payment's charge, if any."""
        return next(reversed(self.disputes.values()), None)

    def _restate(self) -> None:
        """The status from the money: REFUNDED once Stripe says everything received went back,
        PARTIALLY_REFUNDED while a paid payment has some on its way back or back."""
        status = self.settled_status
        received = self.received
        if status is not PaymentStatus.INITIATED and received is not None:
            returned = money_returned(self.refunds.values(), self.disputes.values())
            if received.minor > 0 and returned.settled >= received.minor:
                status = PaymentStatus.REFUNDED
            elif status is PaymentStatus.SUCCESS and returned.live > 0:
                status = PaymentStatus.PARTIALLY_REFUNDED
        self.status = status

    def request_refund(
        self, refund_id: str, amount: Money | None, reason: str | None, ordered_by: str = ""
    ) -> Money:
        """An operator (`ordered_by`: their user id) orders a refund of `amount` (None: all
        that remains refundable).

        Returns the amount ordered. Idempotent per `refund_id`: a refund already recorded
        under it records nothing and answers its amount. The effects queue sends it to
        Stripe under the key `refund:{refund_id}`.
        """
        known = self.refunds.get(refund_id)
        if known is not None and known.origin is RefundOrigin.ORDERED:
            return known.amount
        if known is not None or is_reserved_refund_id(refund_id):
            raise ValueError(f"{refund_id!r} cannot name an operator's refund")
        if self.status not in self.REFUNDABLE:
            raise PaymentNotRefundable(f"order {self.order_id} is {self.status}")
        if reason is not None and reason not in REFUND_REASONS:
            raise InvalidRefundReason(f"not a reason Stripe takes: {reason!r}")
        refundable = self.refundable
        asked = refundable if amount is None else amount
        if amount is not None and (amount.minor <= 0 or amount.currency != refundable.currency):
            raise InvalidRefundAmount(f"cannot refund {amount} of a {refundable.currency} payment")
        if asked.minor <= 0 or asked.minor > refundable.minor:
            raise RefundExceedsRefundable(f"asked {asked}, refundable {refundable}")
        self._refund_ordered(refund_id, asked, reason, ordered_by)
        return asked

    def record_refund_sent(
        self, refund_id: str, stripe_refund_id: str, refund_status: RefundStatus
    ) -> None:
        """Stripe made an ordered refund (the create's answer): its id and status."""
        refund = self.refunds.get(refund_id)
        if refund is None or refund.origin is not RefundOrigin.ORDERED:
            return
        if not refund.sent or refund.status.may_become(refund_status):
            self._refund_reported("", refund_id, stripe_refund_id, refund_status)

    def record_refund_refused(self, refund_id: str, why: str) -> None:
        """Stripe refused to make an ordered refund: it gives nothing back, and is not retried."""
        refund = self.refunds.get(refund_id)
        if refund is not None and not refund.sent and refund.status.holds_money:
            self._refund_refused(refund_id, why)

    def report_refund(self, stripe_event_id: str, report: RefundReport) -> None:
        """Stripe's news of one refund: ours moves on, one we never made is recorded."""
        if not self.has_applied(stripe_event_id):
            self._report_refund(stripe_event_id, report)

    def _report_refund(self, stripe_event_id: str, report: RefundReport) -> None:
        key = self._refund_key_of(report)
        if key is None:
            self._record_unknown_refund(stripe_event_id, report)
            return
        refund = self.refunds[key]
        if not refund.sent or refund.status.may_become(report.status):
            status = report.status if refund.status.may_become(report.status) else refund.status
            self._refund_reported(stripe_event_id, key, report.stripe_refund_id, status)

    def report_charge_refunds(
        self, stripe_event_id: str, amount_refunded: Money, refunds: tuple[RefundReport, ...]
    ) -> None:
        """`charge.refunded`: its refunds, when listed, as refund reports; then any of its
        running total that no refund we know of explains, as one unidentified external
        refund, taken as succeeded (card refunds mostly are at once; the refund's own
        events, when they come, say otherwise). Known counts every refund we ever heard
        of, failed ones too, so a late total from before a failure is not taken for new
        money going back."""
        if self.has_applied(stripe_event_id):
            return
        self._refuse_foreign(amount_refunded)
        for report in refunds:
            self._report_refund(stripe_event_id, report)
        known = money_returned(self.refunds.values(), ()).known
        unsent = self._owed_refund()
        unexplained = amount_refunded.minor - known - (unsent.minor if unsent else 0)
        if unexplained > 0:
            self._external_refund_recorded(
                stripe_event_id,
                f"{EXTERNAL_REFUND_PREFIX}{stripe_event_id}",
                None,
                Money(unexplained, amount_refunded.currency),
                RefundStatus.SUCCEEDED,
                None,
            )

    def report_dispute(self, stripe_event_id: str, dispute: Dispute) -> None:
        """Stripe's news of a dispute on the charge; a closed dispute is final."""
        if self.has_applied(stripe_event_id):
            return
        self._refuse_foreign(dispute.amount)
        known = self.disputes.get(dispute.dispute_id)
        if known is not None and (known.is_closed or not dispute.differs_from(known)):
            return
        fields = (dispute.dispute_id, dispute.amount, dispute.reason, dispute.status)
        if known is None:
            self._dispute_opened(stripe_event_id, *fields)
        elif dispute.is_closed:
            self._dispute_closed(stripe_event_id, *fields)
        else:
            self._dispute_updated(stripe_event_id, *fields)

    def _refund_key_of(self, report: RefundReport) -> str | None:
        """Which of our refunds a report is about: by the key in its metadata, else by
        Stripe's id; the service's own refund, if Stripe made it before we recorded it."""
        if report.ours is not None and report.ours in self.refunds:
            return report.ours
        for key, refund in self.refunds.items():
            if refund.stripe_refund_id == report.stripe_refund_id:
                return key
        return None

    def _record_unknown_refund(self, stripe_event_id: str, report: RefundReport) -> None:
        """A refund none of ours names: the service's own (its answer not recorded yet), a
        stray session's, or one made outside the service."""
        owed = self._owed_refund()
        if report.ours == OWED_REFUND and owed is not None:
            self._refunded(report.stripe_refund_id, owed, report.status, stripe_event_id)
            return
        stray_session = (report.ours or "").removeprefix(STRAY_REFUND_PREFIX)
        stray = self.stray_payments.get(stray_session)
        if report.ours != stray_session and stray is not None and not stray.refunded:
            self._stray_payment_refunded(
                stray_session, report.stripe_refund_id, stray.amount, report.status, stripe_event_id
            )
            return
        self._refuse_foreign(report.amount)
        self._external_refund_recorded(
            stripe_event_id,
            EXTERNAL_REFUND_PREFIX + report.stripe_refund_id,
            report.stripe_refund_id,
            report.amount,
            report.status,
            report.reason,
        )

    def _refuse_foreign(self, amount: Money) -> None:
        """Money going back in another currency, or more than any charge of the order holds,
        is no news about this payment: never recorded."""
        currency = (self.received or self.amount).currency
        if not 0 <= amount.minor <= MAX_CHARGE_MINOR or amount.currency != currency:
            raise ImplausibleAmount(f"order {self.order_id}: {amount} cannot go back")

    @event("RefundOrdered")
    def _refund_ordered(
        self,
        refund_id: str,
        amount: Money,
        reason: str | None,
        ordered_by: str = "",  # absent from refunds ordered before it was recorded
    ) -> None:
        self.refunds[refund_id] = Refund(
            refund_id,
            amount,
            RefundStatus.PENDING,
            RefundOrigin.ORDERED,
            reason,
            ordered_by=ordered_by,
        )
        self._restate()

    @event("RefundReported")
    def _refund_reported(
        self,
        stripe_event_id: str,
        refund_id: str,
        stripe_refund_id: str,
        refund_status: RefundStatus,
    ) -> None:
        if stripe_event_id:
            self.applied_stripe_events.add(stripe_event_id)
        refund = self.refunds[refund_id]
        self.refunds[refund_id] = msgspec.structs.replace(
            refund, status=refund_status, stripe_refund_id=stripe_refund_id
        )
        self._restate()

    @event("RefundRefused")
    def _refund_refused(self, refund_id: str, why: str) -> None:
        refund = self.refunds[refund_id]
        self.refunds[refund_id] = msgspec.structs.replace(refund, status=RefundStatus.FAILED)
        self._restate()

    @event("ExternalRefundRecorded")
    def _external_refund_recorded(
        self,
        stripe_event_id: str,
        refund_id: str,
        stripe_refund_id: str | None,
        amount: Money,
        refund_status: RefundStatus,
        reason: str | None,
    ) -> None:
        self.applied_stripe_events.add(stripe_event_id)
        if stripe_refund_id is not None:
            self._explain_unidentified(amount.minor)
        self.refunds[refund_id] = Refund(
            refund_id, amount, refund_status, RefundOrigin.EXTERNAL, reason, stripe_refund_id
        )
        self._restate()

    def _explain_unidentified(self, minor: int) -> None:
        """A refund now named by Stripe may be one a charge's total reported unnamed before:
        that much of the unidentified amount is this refund, not another."""
        for key, refund in list(self.refunds.items()):
            if minor <= 0:
                return
            if refund.origin is RefundOrigin.EXTERNAL and refund.stripe_refund_id is None:
                taken = min(minor, refund.amount.minor)
                minor -= taken
                left = Money(refund.amount.minor - taken, refund.amount.currency)
                if left.minor:
                    self.refunds[key] = msgspec.structs.replace(refund, amount=left)
                else:
                    del self.refunds[key]

    @event("DisputeOpened")
    def _dispute_opened(
        self, stripe_event_id: str, dispute_id: str, amount: Money, reason: str, dispute_status: str
    ) -> None:
        self._dispute_reported(stripe_event_id, Dispute(dispute_id, amount, reason, dispute_status))

    @event("DisputeUpdated")
    def _dispute_updated(
        self, stripe_event_id: str, dispute_id: str, amount: Money, reason: str, dispute_status: str
    ) -> None:
        self._dispute_reported(stripe_event_id, Dispute(dispute_id, amount, reason, dispute_status))

    @event("DisputeClosed")
    def _dispute_closed(
        self, stripe_event_id: str, dispute_id: str, amount: Money, reason: str, dispute_status: str
    ) -> None:
        self._dispute_reported(stripe_event_id, Dispute(dispute_id, amount, reason, dispute_status))

    def _dispute_reported(self, stripe_event_id: str, dispute: Dispute) -> None:
        self.applied_stripe_events.add(stripe_event_id)
        self.disputes[dispute.dispute_id] = dispute
        self._restate()

    # -- what the outside world is owed ----------------------------------------

    def pending_effects(self) -> list[Effect]:
        """The calls the outside world is still owed, in the order they must happen."""
        effects: list[Effect] = []
        if self.owes_confirmation:
            effects.append(ConfirmOrder(self.order_id))
        if self.failure_reason is not None:
            effects.extend(self._cancellation_effects())
        owed = self._owed_refund()
        if owed is not None:
            # Without a payment intent the refund call fails loudly (and is parked with an
            # alert) rather than the money being forgotten.
            effects.append(RefundPayment(self.order_id, self.payment_intent or "", owed))
        effects.extend(
            RefundPayment(self.order_id, stray.payment_intent, stray.amount, stray.session_id)
            for stray in self.stray_payments.values()
            if not stray.refunded
        )
        effects.extend(
            IssueRefund(
                self.order_id,
                refund.refund_id,
                self.payment_intent or "",
                refund.amount,
                refund.reason,
            )
            for refund in self.refunds.values()
            if refund.origin is RefundOrigin.ORDERED
            and not refund.sent
            and refund.status.holds_money
        )
        return effects

    def _owed_refund(self) -> Money | None:
        """The service's own refund, if not sent yet: what it owes and nothing covers yet
        (`_owed_uncovered`: a refund made in the dashboard, a lost dispute)."""
        if self.refund_id is not None:
            return None
        owed = self._owed_uncovered()
        return owed if owed is not None and owed.minor > 0 else None

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
            self.settled_status is PaymentStatus.SUCCESS
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

    def record_refunded(
        self, refund_id: str, refund_status: RefundStatus = RefundStatus.SUCCEEDED
    ) -> None:
        """Stripe made the service's own refund (`refund_id` is Stripe's)."""
        owed = self._owed_refund()
        if owed is not None:
            self._refunded(refund_id, owed, refund_status)

    def record_owed_refund_refused(self, refund_id: str, why: str) -> None:
        """Stripe refused to make a refund the service owes (`owed`, `stray:{session}`). The
        money is still owed, and still asked for: the effects queue parks the payment and
        asks again (a refusal may clear; a refund made meanwhile in the dashboard answers
        it). Recorded once per refund, so the alert saying so is written once."""
        owed = self._still_owed(refund_id)
        if owed is not None and refund_id not in self.refused_owed_refunds:
            self._owed_refund_refused(refund_id, owed, why)

    def _still_owed(self, refund_id: str) -> Money | None:
        """What a refund the service owes would give back, while Stripe has not made it."""
        if refund_id == OWED_REFUND:
            return self._owed_refund()
        stray = self.stray_payments.get(refund_id.removeprefix(STRAY_REFUND_PREFIX))
        if refund_id.startswith(STRAY_REFUND_PREFIX) and stray and not stray.refunded:
            return stray.amount
        return None

    def record_stray_refunded(
        self,
        session_id: str,
        refund_id: str,
        refund_status: RefundStatus = RefundStatus.SUCCEEDED,
    ) -> None:
        stray = self.stray_payments.get(session_id)
        if stray is not None and not stray.refunded:
            self._stray_payment_refunded(session_id, refund_id, stray.amount, refund_status)

    @event("OwedRefundRefused")
    def _owed_refund_refused(self, refund_id: str, amount: Money, why: str) -> None:
        self.refused_owed_refunds.add(refund_id)

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
    def _refunded(
        self,
        refund_id: str,
        amount: Money,
        # Absent before issue 12, when a refund was taken as done once Stripe made it.
        refund_status: RefundStatus = RefundStatus.SUCCEEDED,
        stripe_event_id: str = "",  # the refund event that told us first, if it did
    ) -> None:
        if stripe_event_id:
            self.applied_stripe_events.add(stripe_event_id)
        self.refund_id = refund_id
        if not any(r.stripe_refund_id == refund_id for r in self.refunds.values()):
            self.refunds[OWED_REFUND] = Refund(
                OWED_REFUND, amount, refund_status, RefundOrigin.OWED, None, refund_id
            )
        self._restate()

    @event("StrayPaymentRefunded")
    def _stray_payment_refunded(
        self,
        session_id: str,
        refund_id: str,
        amount: Money,
        refund_status: RefundStatus = RefundStatus.SUCCEEDED,  # absent before issue 12
        stripe_event_id: str = "",
    ) -> None:
        if stripe_event_id:
            self.applied_stripe_events.add(stripe_event_id)
        stray = self.stray_payments[session_id]
        self.stray_payments[session_id] = msgspec.structs.replace(stray, refund_id=refund_id)
        key = STRAY_REFUND_PREFIX + session_id
        self.refunds[key] = Refund(key, amount, refund_status, RefundOrigin.STRAY, None, refund_id)
