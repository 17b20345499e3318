"""No payment stays open forever: overdue ones are resolved from Stripe's objects (issue 11 item 2).

A payment still INITIATED past its session's `expires_at` plus a grace period, or waiting
on a delayed method (a bank debit) longer than `delayed_limit`, is settled by retrieving
its Checkout Session and its PaymentIntent: paid → succeeded; expired → failed; the
delayed payment failed (intent `requires_payment_method` or `canceled`) → failed.
Stripe's list of undelivered events is read over its full 30 days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from application.ports import PaymentIntentState
from application.reconcile import Reconcile
from application.stripe_events import StripeEvent, decode_stripe_event
from domain.lifecycle import FailureReason, PaymentStatus
from infrastructure.event_store.open_payments_index import FollowedOpenPayments
from tests.application.conftest import BUYER, World
from tests.fakes import FakeCheckoutGateway
from tests.stripe_payloads import checkout_event, encode

ORDER = "ord_1"
DELAYED_LIMIT = timedelta(hours=72)


def reconcile(world: World) -> Reconcile:
    return Reconcile(
        world.ledger,
        world.stripe,
        world.apply(),
        world.clock,
        FollowedOpenPayments(world.ledger),
        delayed_limit=DELAYED_LIMIT,
    )


def stripe_says(world: World, session_id: str, **fields: object) -> None:
    session = world.stripe.sessions[session_id]
    world.stripe.sessions[session_id] = msgspec.structs.replace(session, **fields)


def intent_is(world: World, intent_id: str, status: str) -> None:
    world.stripe.payment_intents[intent_id] = PaymentIntentState(intent_id, status)


@pytest.fixture
async def session_id(world: World) -> str:
    # The payment's events take their time from the wall clock: start the fake's there.
    world.clock.current = datetime.now(UTC)
    return (await world.create_session()(BUYER, ORDER)).session_id


@pytest.fixture
async def awaiting(world: World, session_id: str) -> str:
    """A bank debit: the session completed unpaid, the webhook said so, the result is due."""
    stripe_says(
        world, session_id, status="complete", payment_status="unpaid", payment_intent="pi_bank"
    )
    intent_is(world, "pi_bank", "processing")
    unpaid = checkout_event(
        "checkout.session.completed", ORDER, session_id,
        payment_status="unpaid", payment_intent="pi_bank",
    )  # fmt: skip
    await world.apply()(decode_stripe_event(encode(unpaid)))
    assert world.payment(ORDER).awaiting_async_payment
    return session_id


@pytest.mark.parametrize("status", ["requires_payment_method", "canceled"])
async def test_a_delayed_payment_that_failed_at_stripe_fails_once_overdue(
    world: World, awaiting: str, status: str
) -> None:
    intent_is(world, "pi_bank", status)
    world.clock.advance(hours=73)
    sweep = reconcile(world)

    first = await sweep()
    second = await sweep()

    payment = world.payment(ORDER)
    assert payment.status is PaymentStatus.FAILED
    assert payment.failure_reason is FailureReason.ASYNC_FAILED
    assert [c.event_id for c in first.changes] == [f"reconcile:{awaiting}:async_failed"]
    assert second.changes == [] and second.open_checked == 0


async def test_a_delayed_payment_that_succeeded_at_stripe_succeeds_once_overdue(
    world: World, awaiting: str
) -> None:
    stripe_says(world, awaiting, payment_status="paid")
    intent_is(world, "pi_bank", "succeeded")
    world.clock.advance(hours=73)

    summary = await reconcile(world)()

    assert world.payment(ORDER).status is PaymentStatus.SUCCESS
    assert [c.status_after for c in summary.changes] == ["SUCCESS"]


async def test_a_delayed_payment_still_processing_keeps_waiting(
    world: World, awaiting: str
) -> None:
    world.clock.advance(hours=73)
    summary = await reconcile(world)()
    assert (summary.open_checked, summary.still_open, summary.changes) == (1, 1, [])
    assert world.payment(ORDER).is_open


async def test_a_delayed_payment_is_not_asked_about_before_the_limit(
    world: World, awaiting: str
) -> None:
    intent_is(world, "pi_bank", "requires_payment_method")
    world.clock.advance(hours=71)
    summary = await reconcile(world)()
    assert summary.open_checked == 0 and world.payment(ORDER).is_open


async def test_an_initiated_payment_whose_delayed_method_failed_fails(
    world: World, session_id: str
) -> None:
    """Neither webhook came: the session completed unpaid, then the debit failed."""
    stripe_says(
        world, session_id, status="complete", payment_status="unpaid", payment_intent="pi_bank"
    )
    intent_is(world, "pi_bank", "requires_payment_method")
    world.clock.advance(minutes=45)

    await reconcile(world)()

    payment = world.payment(ORDER)
    assert payment.status is PaymentStatus.FAILED
    assert payment.failure_reason is FailureReason.ASYNC_FAILED


@dataclass
class StripeWithHistory(FakeCheckoutGateway):
    """Lists undelivered events created since the time asked, as Stripe does."""

    asked_since: list[datetime] = field(default_factory=list)

    async def undelivered_events(self, since: datetime) -> list[StripeEvent]:
        self.asked_since.append(since)
        return [e for e in self.undelivered if (e.created or 0) >= since.timestamp()]


async def test_stripes_event_list_is_read_over_its_full_30_days(world: World) -> None:
    stripe = StripeWithHistory(world.clock)
    world.stripe = stripe
    session_id = (await world.create_session()(BUYER, ORDER)).session_id
    ten_days_ago = int(world.clock.now().timestamp() - 10 * 86400)
    paid = checkout_event("checkout.session.completed", ORDER, session_id, evt_id="evt_old")
    stripe.undelivered = [decode_stripe_event(encode({**paid, "created": ten_days_ago}))]

    summary = await reconcile(world)()

    assert [c.event_id for c in summary.changes] == ["evt_old"]
    assert stripe.asked_since == [world.clock.now() - timedelta(days=30)]
    assert world.payment(ORDER).status is PaymentStatus.SUCCESS
