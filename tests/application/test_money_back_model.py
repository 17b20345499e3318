"""Model-based test of money going back (issue 12): refunds and disputes in any order.

Hypothesis plays a paid payment's later life: an operator orders refunds (some too
large), the effects queue sends them and Stripe answers `pending`, `succeeded` or
`failed` (or refuses one that no longer fits the charge), Stripe moves refunds on
(`succeeded`, `failed`, `canceled`, a succeeded refund returned by the bank), someone
refunds in the dashboard, the cardholder disputes and the dispute is won or lost. Every
Stripe event (refund.*, charge.refunded with its running total, charge.dispute.*) is
decoded as the webhook decodes it and delivered any number of times, in any order, or
not until the end.

After every step:
- what went back (`refundedAmount`) is never negative nor more than was received, and
  what remains refundable is the rest;
- the status says what the amounts say (REFUNDED when Stripe's succeeded refunds and lost
  disputes cover the money, PARTIALLY_REFUNDED while some is back or on its way);
- a refund Stripe failed or canceled stays so, whatever arrives later;
- an event delivered again records nothing;
- the payment rebuilt from its recorded events is the payment.
Once every event has arrived, each refund stands as Stripe has it and what went back is
exactly Stripe's live refunds and lost disputes.

Breaking the service on purpose (a failed refund allowed to succeed again, a refund named
by Stripe after a charge's total not taken as that total's money, a zero total refused
as implausible) is found within seconds.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from application.money_back import record_money_back
from application.stripe_events import decode_stripe_event
from domain.dispute import LOST
from domain.effects import IssueRefund
from domain.errors import RefundRefused
from domain.lifecycle import PaymentStatus
from domain.money import Money
from domain.payment import Payment
from domain.refund import RefundStatus
from tests.fakes import an_order
from tests.stripe_payloads import charge_refunded_event, dispute_event, encode, refund_event

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
RECEIVED = 20498
INTENT = "pi_test_1"
ORDER = "ord_1"
LIVE = ("pending", "succeeded")
MOVES = {"pending": ("succeeded", "failed", "canceled"), "succeeded": ("failed",)}
amounts = st.integers(min_value=1, max_value=RECEIVED + 100)


@dataclass
class StripeRefund:
    """A refund as Stripe has it: the truth the payment must end agreeing with."""

    id: str
    amount: int
    status: str
    ours: str | None


class MoneyBack(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.ids = itertools.count(1)
        self.payment = paid_payment()
        self.recorded: list[Any] = list(self.payment.collect_events())
        self.stripe: dict[str, StripeRefund] = {}
        self.disputes: dict[str, tuple[int, str]] = {}
        self.events: list[dict[str, Any]] = []
        self.final: dict[str, str] = {}  # our refund id -> a status Stripe made final

    # -- the operator and the effects queue ---------------------------------------

    @rule(amount=st.none() | amounts)
    def order_refund(self, amount: int | None) -> None:
        before = self.payment.refundable.minor
        try:
            asked = self.payment.request_refund(
                f"rf_{next(self.ids)}", None if amount is None else usd(amount), None
            )
        except RefundRefused:
            assert amount is None or amount > before or before == 0
            return
        assert 0 < asked.minor <= before
        self._collect()

    @precondition(lambda self: self._unsent())
    @rule(data=st.data(), status=st.sampled_from(("pending", "succeeded", "failed")))
    def stripe_creates(self, data: st.DataObject, status: str) -> None:
        self._send(data.draw(st.sampled_from(self._unsent())), status)

    def _send(self, effect: IssueRefund, status: str) -> None:
        if self._stripe_live() + effect.amount.minor > RECEIVED:
            self.payment.record_refund_refused(effect.refund_id, "HTTP 400 amount too large")
        else:
            refund = StripeRefund(
                f"re_{next(self.ids)}", effect.amount.minor, status, effect.refund_id
            )
            self.stripe[refund.id] = refund
            self._emit_refund("refund.created", refund)
            self.payment.record_refund_sent(effect.refund_id, refund.id, RefundStatus(status))
        self._collect()

    # -- Stripe --------------------------------------------------------------------

    @precondition(lambda self: any(r.status in MOVES for r in self.stripe.values()))
    @rule(data=st.data())
    def stripe_moves_a_refund(self, data: st.DataObject) -> None:
        movable = sorted((r for r in self.stripe.values() if r.status in MOVES), key=_id)
        refund = data.draw(st.sampled_from(movable))
        refund.status = data.draw(st.sampled_from(MOVES[refund.status]))
        kind = "refund.failed" if refund.status == "failed" else "refund.updated"
        self._emit_refund(kind, refund)

    @rule(amount=amounts, status=st.sampled_from(LIVE))
    def dashboard_refund(self, amount: int, status: str) -> None:
        if self._stripe_live() + amount > RECEIVED:
            return  # Stripe refuses it
        refund = StripeRefund(f"re_{next(self.ids)}", amount, status, None)
        self.stripe[refund.id] = refund
        self._emit_refund("refund.created", refund)

    @precondition(lambda self: not self.disputes)
    @rule(amount=st.integers(min_value=1, max_value=RECEIVED))
    def cardholder_disputes(self, amount: int) -> None:
        self.disputes["dp_1"] = (amount, "needs_response")
        self._emit_dispute("charge.dispute.created")

    @precondition(lambda self: self._dispute_open())
    @rule(status=st.sampled_from(("under_review", "won", LOST)))
    def dispute_moves(self, status: str) -> None:
        amount, _ = self.disputes["dp_1"]
        self.disputes["dp_1"] = (amount, status)
        closed = status in ("won", LOST)
        self._emit_dispute("charge.dispute.closed" if closed else "charge.dispute.updated")

    @precondition(lambda self: self.events)
    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        self._deliver(data.draw(st.sampled_from(self.events)))

    # -- invariants ----------------------------------------------------------------

    @invariant()
    def amounts_add_up(self) -> None:
        refunded = self.payment.refunded_amount.minor
        assert 0 <= refunded <= RECEIVED
        assert self.payment.refundable.minor == RECEIVED - refunded

    @invariant()
    def status_says_what_the_amounts_say(self) -> None:
        settled = sum(
            r.amount.minor
            for r in self.payment.refunds.values()
            if r.status is RefundStatus.SUCCEEDED
        ) + sum(d.amount.minor for d in self.payment.disputes.values() if d.is_lost)
        status = self.payment.status
        if settled >= RECEIVED:
            assert status is PaymentStatus.REFUNDED
        elif self.payment.refunded_amount.minor > 0:
            assert status is PaymentStatus.PARTIALLY_REFUNDED
        else:
            assert status is PaymentStatus.SUCCESS

    @invariant()
    def failed_refunds_stay_failed(self) -> None:
        for refund in self.payment.refunds.values():
            if refund.refund_id in self.final:
                assert refund.status == self.final[refund.refund_id]
            elif refund.status.is_final:
                self.final[refund.refund_id] = refund.status

    @invariant()
    def the_recorded_events_rebuild_the_payment(self) -> None:
        rebuilt: Payment | None = None
        for event in self.recorded:
            rebuilt = event.mutate(rebuilt)
        assert rebuilt is not None
        assert rebuilt.refunds == self.payment.refunds
        assert rebuilt.disputes == self.payment.disputes
        assert rebuilt.status is self.payment.status
        assert rebuilt.applied_stripe_events == self.payment.applied_stripe_events

    def teardown(self) -> None:
        """The queue sends what it owes and every event arrives at last: the payment agrees
        with Stripe."""
        for effect in self._unsent():
            self._send(effect, "succeeded")
        for payload in self.events:
            self._deliver(payload)
        for refund in self.stripe.values():
            ours = self.payment.refund(refund.ours or f"external:{refund.id}")
            if ours is not None:
                assert ours.status == refund.status, (ours, refund)
        lost = sum(amount for amount, status in self.disputes.values() if status == LOST)
        truth = self._stripe_live() + lost
        assert self.payment.refunded_amount.minor == min(truth, RECEIVED)

    # -- the model's bookkeeping ---------------------------------------------------

    def _deliver(self, payload: dict[str, Any]) -> None:
        again = self.payment.has_applied(payload["id"])
        record_money_back(self.payment, decode_stripe_event(encode(payload)))
        new = self._collect()
        assert not (again and new), "an event delivered again recorded something"

    def _collect(self) -> list[Any]:
        new = list(self.payment.collect_events())
        self.recorded.extend(new)
        return new

    def _unsent(self) -> list[IssueRefund]:
        return [e for e in self.payment.pending_effects() if isinstance(e, IssueRefund)]

    def _stripe_live(self) -> int:
        return sum(r.amount for r in self.stripe.values() if r.status in LIVE)

    def _dispute_open(self) -> bool:
        return any(status not in ("won", LOST) for _, status in self.disputes.values())

    def _emit_refund(self, kind: str, refund: StripeRefund) -> None:
        metadata = {"orderId": ORDER, "refundId": refund.ours} if refund.ours else None
        self.events.append(
            refund_event(kind, refund.id, refund.amount, refund.status, INTENT, metadata)
        )
        self.events.append(charge_refunded_event(self._stripe_live(), INTENT))

    def _emit_dispute(self, kind: str) -> None:
        amount, status = self.disputes["dp_1"]
        self.events.append(dispute_event(kind, "dp_1", status, amount, payment_intent=INTENT))


def paid_payment() -> Payment:
    payment = Payment.initiate(
        an_order(ORDER), "buyer@example.com", "cs_test_1", "https://checkout.example/cs_test_1",
        NOW + timedelta(minutes=30), NOW,
    )  # fmt: skip
    payment.succeed("evt_paid", INTENT, "buyer@example.com", usd(RECEIVED))
    payment.record_order_confirmed()
    return payment


def usd(minor: int) -> Money:
    return Money(minor, "usd")


def _id(refund: StripeRefund) -> str:
    return refund.id


def money_back_settings() -> settings:
    """About 4 s in the suite; `--hypothesis-profile=lifecycle-long` searches 2,000 stories."""
    chosen = settings.get_current_profile_name()
    if chosen != "default":
        return settings(settings.get_profile(chosen), deadline=None)
    return settings(
        max_examples=200,
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


TestMoneyBack = MoneyBack.TestCase
TestMoneyBack.settings = money_back_settings()
