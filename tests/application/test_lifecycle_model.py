"""Model-based test of a payment's whole life (issue 11): whatever Stripe, the shop and time do.

Hypothesis drives the application (create-session, the webhook's use case, settling the
effects, reconciliation) on a real event store (SQLite in a temporary directory), with
Stripe, the order service and the inventory service modelled in lifecycle_world.py. Its
rules open sessions (two at once, across a key's time bucket, while Stripe fails or loses
its answer), pay, decline, pay by bank, expire, deliver any Stripe event any number of
times in any order (or never: reconciliation finds it), send signed events with absurd
amounts, cancel orders at the shop, switch each neighbour between answering, failing
(5xx) and refusing (4xx), and restart the service on the same store.

After every step, and once everything has settled (every neighbour answering, every
session over, reconciliation and settling run until nothing is owed):
- money captured ends either as the confirmed order's exact total or refunded in full;
- an order is never both CONFIRMED and CANCELLED;
- stock is released at most once per product, and only for cancelled orders;
- a terminal status never changes, except to REFUNDED (money given back);
- every fact is recorded at most once;
- a payment fails only for what its own session did (never a duplicate's decline);
- and, at the end, every overdue payment is resolved from Stripe's objects alone.

Each invariant was checked by breaking the service on purpose (strays ignored, one refund
key per order, any decline failing the payment, a refused confirmation parked for good,
absurd amounts accepted, delayed payments never read back, 3 days of events): the search
finds each within seconds. Bounded here (about 20 s); a longer run:
    .venv/bin/python -m pytest tests/application/test_lifecycle_model.py \
        --hypothesis-profile=lifecycle-long
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Coroutine
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from application.apply_stripe_event import ApplyStripeEvent
from application.checkout import CreateCheckoutSession
from application.fulfilment import EffectsFailed, SettlePayment
from application.identity import Caller
from application.ledger import PaymentLedger
from application.reconcile import Reconcile
from application.stripe_events import decode_stripe_event
from domain.charge_limits import implausible_charge
from domain.errors import PaymentError
from domain.lifecycle import FailedPaymentPolicy, FailureReason, PaymentStatus
from domain.money import Money
from domain.order import OrderStatus
from domain.payment import Payment, payment_id_for
from infrastructure.event_store.open_payments_index import FollowedOpenPayments
from infrastructure.event_store.store import event_store_env
from tests.application.lifecycle_world import (
    CreateMode,
    InventoryModel,
    Mode,
    Session,
    ShopModel,
    StripeModel,
)
from tests.fakes import FixedClock, an_order

ORDERS = ("ord_a", "ord_b")
BUYER = Caller("user_1", "buyer@example.com")
SUITE_EXAMPLES = 100
SUITE_STEPS = 50
# The service logs every alert it raises, thousands per search: kept out of the test
# report (pytest keeps every record of a test), which would grow by gigabytes.
QUIET = ("application", "infrastructure", "domain")
ONCE_PER_PAYMENT = ("Initiated", "Succeeded", "Failed", "RefundRequested", "OrderConfirmed")
ONCE_MORE = ("CheckoutClosed", "OrderCancelled", "Refunded", "OrderFoundCancelled")
REFUND_STATES = frozenset({PaymentStatus.REFUNDED})
T = TypeVar("T")


class PaymentLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._dir = Path(tempfile.mkdtemp(prefix="lifecycle-"))
        self.loop = asyncio.new_event_loop()
        self.clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
        self.stripe = StripeModel(self.clock)
        self.shop = ShopModel()
        self.inventory = InventoryModel()
        for order_id in ORDERS:
            self.shop.add(an_order(order_id, BUYER.user_id, status=OrderStatus.PENDING))
        self.policy = FailedPaymentPolicy.CANCEL
        self.ledger = self._open_ledger()
        self.statuses: dict[str, PaymentStatus] = {}
        self._levels = {name: logging.getLogger(name).level for name in QUIET}
        for name in QUIET:
            logging.getLogger(name).setLevel(logging.CRITICAL)

    # -- the service under test ----------------------------------------------------

    def _open_ledger(self) -> PaymentLedger:
        return PaymentLedger(event_store_env(f"sqlite:///{self._dir / 'payments.db'}"))

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def apply(self) -> ApplyStripeEvent:
        return ApplyStripeEvent(self.ledger, self.policy)

    def reconcile(self) -> Reconcile:
        index = FollowedOpenPayments(self.ledger)
        return Reconcile(self.ledger, self.stripe, self.apply(), self.clock, index)

    def payment(self, order_id: str) -> Payment | None:
        return self.ledger.find(order_id)

    async def _create(self, order_id: str) -> None:
        create = CreateCheckoutSession(self.ledger, self.shop, self.stripe, self.clock)
        try:
            link = await create(BUYER, order_id)
        except PaymentError:
            return  # Stripe failed, the order is no longer PENDING, already paid…
        self.stripe.sessions[link.session_id].handed_out = True

    async def _settle(self, order_id: str) -> None:
        settle = SettlePayment(self.ledger, self.shop, self.inventory, self.stripe)
        # A failure is retried on the payment's own schedule: a later step settles it.
        with contextlib.suppress(EffectsFailed):
            await settle(payment_id_for(order_id))

    # -- rules -----------------------------------------------------------------------

    @initialize(policy=st.sampled_from(FailedPaymentPolicy))
    def choose_policy(self, policy: FailedPaymentPolicy) -> None:
        self.policy = policy

    @rule(order_id=st.sampled_from(ORDERS))
    def create_session(self, order_id: str) -> None:
        self.run(self._create(order_id))

    @rule(order_id=st.sampled_from(ORDERS), across_buckets=st.booleans())
    def create_sessions_at_once(self, order_id: str, across_buckets: bool) -> None:
        async def second() -> None:
            if across_buckets:  # the second create lands in the next time bucket
                self.clock.advance(minutes=5)
            await self._create(order_id)

        async def both() -> None:
            await asyncio.gather(self._create(order_id), second())

        self.run(both())

    @rule(order_id=st.sampled_from(ORDERS))
    def stripe_has_a_duplicate_session(self, order_id: str) -> None:
        """A duplicate whose expiry failed, a create that lost a race: someone pays it."""
        self.stripe.duplicate(self.shop.orders[order_id])

    @rule(mode=st.sampled_from(CreateMode))
    def stripe_creates(self, mode: CreateMode) -> None:
        self.stripe.create_mode = mode

    @rule(data=st.data())
    def customer_pays(self, data: st.DataObject) -> None:
        session = self._payable(data)
        if session is not None:
            total = session.amount
            amount = data.draw(
                st.sampled_from([total, Money(total.minor - 1, total.currency)]), "amount"
            )
            self.stripe.pay(session, amount)

    @rule(data=st.data())
    def card_declined(self, data: st.DataObject) -> None:
        session = self._payable(data)
        if session is not None:
            self.stripe.decline(session)

    @rule(data=st.data())
    def customer_pays_by_bank(self, data: st.DataObject) -> None:
        session = self._payable(data)
        if session is not None:
            self.stripe.pay_by_bank(session)

    @rule(data=st.data(), succeeded=st.booleans())
    def bank_answers(self, data: st.DataObject, succeeded: bool) -> None:
        waiting = [
            s
            for s in self.stripe.sessions.values()
            if s.intent and self.stripe.intents[s.intent].status == "processing"
        ]
        if waiting:
            self.stripe.bank_answers(data.draw(st.sampled_from(waiting), "session"), succeeded)

    @rule(minutes=st.sampled_from([1, 10, 31, 45, 24 * 60, 4 * 24 * 60]))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)
        self.stripe.expire_due()

    @precondition(lambda self: self.stripe.events)
    @rule(data=st.data())
    def stripe_delivers(self, data: st.DataObject) -> None:
        """Any event, any number of times, in any order: Stripe's at-least-once delivery."""
        event = data.draw(st.sampled_from(self.stripe.events), "event")
        self.run(self.apply()(decode_stripe_event(msgspec.json.encode(event))))
        self.stripe.delivered.add(event["id"])

    @precondition(lambda self: self.stripe.sessions)
    @rule(data=st.data(), amount=st.sampled_from([-100, 0, 100_000_000]), currency=st.booleans())
    def stripe_signs_an_absurd_amount(
        self, data: st.DataObject, amount: int, currency: bool
    ) -> None:
        session = data.draw(st.sampled_from(sorted(self.stripe.sessions.values(), key=_id)))
        fields: dict[str, Any] = {"payment_status": "paid", "amount_total": amount}
        if currency:
            fields = {"payment_status": "paid", "currency": "zzz"}
        before = len(self.stripe.events)
        self.stripe.emit("checkout.session.completed", session, **fields)
        event = self.stripe.events.pop(before)  # sent once, never part of Stripe's truth
        self.run(self.apply()(decode_stripe_event(msgspec.json.encode(event))))

    @rule(order_id=st.sampled_from(ORDERS))
    def settle(self, order_id: str) -> None:
        self.run(self._settle(order_id))

    @rule()
    def reconcile_runs(self) -> None:
        self.run(self.reconcile()())

    @rule(order_id=st.sampled_from(ORDERS))
    def shop_cancels_the_order(self, order_id: str) -> None:
        self.shop.cancel_elsewhere(order_id)

    @rule(
        neighbour=st.sampled_from(["stripe", "shop", "inventory"]),
        mode=st.sampled_from(Mode),
    )
    def neighbour_answers(self, neighbour: str, mode: Mode) -> None:
        if neighbour == "stripe":
            self.stripe.mode = mode
        elif neighbour == "shop":
            self.shop.mode = mode
        else:
            self.inventory.mode = mode

    @rule()
    def service_restarts(self) -> None:
        self.ledger.close()
        self.ledger = self._open_ledger()

    def _payable(self, data: st.DataObject) -> Session | None:
        """An open session someone can pay: its URL was handed out, or it is another
        session of an order that has a payment (a duplicate whose expiry failed)."""
        payable = sorted(
            (
                s
                for s in self.stripe.sessions.values()
                if s.status == "open" and (s.handed_out or self.payment(s.order_id))
            ),
            key=_id,
        )
        return data.draw(st.sampled_from(payable), "session") if payable else None

    # -- invariants after every step -------------------------------------------------

    @invariant()
    def every_fact_is_recorded_at_most_once(self) -> None:
        for order_id in ORDERS:
            names = Counter(type(e).__name__ for e in self._history(order_id))
            for name in (*ONCE_PER_PAYMENT, *ONCE_MORE):
                assert names[name] <= 1, f"{order_id}: {name} recorded {names[name]} times"
            events = list(self._history(order_id))
            # One Stripe event may record two facts at once (a wrong amount: Failed and
            # RefundRequested), never again later.
            stripe_ids = [k for k, _ in groupby(vars(e).get("stripe_event_id") for e in events)]
            stripe_ids = [i for i in stripe_ids if i is not None]
            assert len(stripe_ids) == len(set(stripe_ids)), f"{order_id}: an event applied twice"
            released = [
                vars(e)["product_id"] for e in events if type(e).__name__ == "InventoryReleased"
            ]
            assert len(released) == len(set(released)), f"{order_id}: stock released twice"
            strays = Counter(
                (type(e).__name__, vars(e)["session_id"])
                for e in events
                if type(e).__name__.startswith("StrayPayment")
            )
            assert max(strays.values(), default=0) <= 1, f"{order_id}: a stray recorded twice"

    @invariant()
    def no_money_is_recorded_that_no_charge_has(self) -> None:
        for order_id in ORDERS:
            payment = self.payment(order_id)
            if payment is None:
                continue
            received = [
                payment.amount_received,
                *(s.amount for s in payment.stray_payments.values()),
            ]
            for amount in (m for m in received if m is not None):
                assert implausible_charge(amount, payment.amount) is None, amount

    @invariant()
    def a_payment_fails_only_for_what_its_own_session_did(self) -> None:
        """News of another session of the order (a decline, an expiry) never fails it."""
        for order_id in ORDERS:
            payment = self.payment(order_id)
            if payment is None:
                continue
            own = self.stripe.sessions[payment.checkout_session_id]
            intent = self.stripe.intents.get(own.intent or "")
            declines = intent.declines if intent else 0
            assert payment.failed_attempts <= declines, order_id
            match payment.failure_reason:
                case FailureReason.PAYMENT_FAILED | FailureReason.ASYNC_FAILED:
                    assert declines > 0, f"{order_id} failed by a decline on another session"
                case FailureReason.EXPIRED:
                    assert own.status == "expired", f"{order_id} failed by another's expiry"
                case FailureReason.AMOUNT_MISMATCH:
                    assert own.amount != payment.amount, f"{order_id}: no wrong amount on it"

    @invariant()
    def a_terminal_status_only_becomes_refunded(self) -> None:
        for order_id in ORDERS:
            payment = self.payment(order_id)
            if payment is None:
                continue
            before = self.statuses.get(order_id)
            now = payment.status
            if before is not None and before in Payment.TERMINAL and now is not before:
                assert now in REFUND_STATES, f"{order_id}: {before} became {now}"
            self.statuses[order_id] = now

    @invariant()
    def an_order_is_never_both_confirmed_and_cancelled(self) -> None:
        for order_id in ORDERS:
            history = set(self.shop.history[order_id])
            assert not {OrderStatus.CONFIRMED, OrderStatus.CANCELLED} <= history, order_id
            payment = self.payment(order_id)
            if payment is not None:
                assert not (payment.order_confirmed and payment.order_cancelled), order_id

    @invariant()
    def stock_comes_back_only_for_orders_being_cancelled(self) -> None:
        for order_id, _ in self.inventory.released:
            payment = self.payment(order_id)
            assert payment is not None and payment.failure_reason is not None, order_id
            assert OrderStatus.CONFIRMED not in self.shop.history[order_id], order_id

    @invariant()
    def no_charge_is_refunded_beyond_what_it_took(self) -> None:
        for intent in self.stripe.intents.values():
            refunded = self.stripe.refunded(intent.id)
            captured = intent.captured.minor if intent.captured else 0
            assert 0 <= refunded <= captured, (intent.id, refunded, captured)

    @invariant()
    def a_confirmed_order_was_paid_its_exact_total(self) -> None:
        for order_id in ORDERS:
            if OrderStatus.CONFIRMED not in self.shop.moved_by_us[order_id]:
                continue
            payment = self.payment(order_id)
            assert payment is not None and payment.status is PaymentStatus.SUCCESS, order_id
            assert payment.amount_received == payment.amount, order_id

    # -- once everything has settled ------------------------------------------------------

    def teardown(self) -> None:
        try:
            # A step or invariant that failed is the finding; the ending is not checked.
            if sys.exc_info()[1] is None:
                self._settle_everything()
                self._check_the_ending()
        finally:
            self.ledger.close()
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
            self.loop.close()
            shutil.rmtree(self._dir, ignore_errors=True)
            for name, level in self._levels.items():
                logging.getLogger(name).setLevel(level)

    def _settle_everything(self) -> None:
        """Every neighbour answers again, every session ends, nothing more is delivered:
        reconciliation must find whatever the webhooks did not bring."""
        self.stripe.create_mode = CreateMode.OK
        for neighbour in (self.stripe, self.shop, self.inventory):
            neighbour.mode = Mode.OK
        for session in list(self.stripe.sessions.values()):
            if session.intent and self.stripe.intents[session.intent].status == "processing":
                self.stripe.bank_answers(session, succeeded=True)
        self.clock.advance(days=4)
        self.stripe.expire_due()
        # From Stripe's objects alone (as if every event had aged out of its list), every
        # overdue payment is resolved; the event list then brings the rest (stray money).
        self.stripe.events_listed = False
        self.run(self.reconcile()())
        for order_id in ORDERS:
            payment = self.payment(order_id)
            assert payment is None or not payment.is_open, f"{order_id} unresolved by Stripe"
        self.stripe.events_listed = True
        for _ in range(3):
            self.run(self.reconcile()())
            for order_id in ORDERS:
                self.run(self._settle(order_id))

    def _check_the_ending(self) -> None:
        for order_id in ORDERS:
            payment = self.payment(order_id)
            if payment is None:
                continue
            assert payment.is_terminal, f"{order_id} still {payment.status}"
            assert payment.pending_effects() == [], f"{order_id} still owes something"
            self.a_terminal_status_only_becomes_refunded()
        for intent in self.stripe.intents.values():
            if intent.captured is None:
                continue
            refunded = self.stripe.refunded(intent.id)
            order_id = intent.order_id
            kept = self._confirmed_with(order_id, intent.id)
            if kept:
                assert refunded == 0, f"{intent.id} confirmed {order_id} and was refunded"
                assert intent.captured == self.shop.orders[order_id].total
            else:
                assert refunded == intent.captured.minor, (
                    f"{intent.id} of {order_id}: captured {intent.captured}, refunded {refunded}"
                )
        for order_id, _ in self.inventory.released:
            assert self.shop.status(order_id) == OrderStatus.CANCELLED, order_id

    def _confirmed_with(self, order_id: str, intent_id: str) -> bool:
        payment = self.payment(order_id)
        return (
            payment is not None
            and payment.status is PaymentStatus.SUCCESS
            and payment.payment_intent == intent_id
            and self.shop.status(order_id) == OrderStatus.CONFIRMED
        )

    def _history(self, order_id: str) -> list[Any]:
        return list(self.ledger.history(payment_id_for(order_id)))


def _id(session: Session) -> str:
    return session.id


def lifecycle_settings() -> settings:
    """The suite's bound, unless `--hypothesis-profile` chose a profile of its own."""
    chosen = settings.get_current_profile_name()
    if chosen != "default":
        return settings(settings.get_profile(chosen), deadline=None)
    return settings(
        max_examples=SUITE_EXAMPLES,
        stateful_step_count=SUITE_STEPS,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


TestPaymentLifecycle = PaymentLifecycle.TestCase
TestPaymentLifecycle.settings = lifecycle_settings()
