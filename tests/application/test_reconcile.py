"""Reconcile: payments whose webhook never came end where the webhook would have put them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import msgspec

from application.errors import CheckoutUnavailable
from application.ports import CheckoutSession
from application.reconcile import Reconcile
from application.stripe_events import StripeEvent, decode_stripe_event
from domain.effects import ConfirmOrder, ReleaseStock
from domain.lifecycle import PaymentStatus
from tests.application.conftest import BUYER, World
from tests.fakes import FakeCheckoutGateway, an_order
from tests.stripe_payloads import checkout_event, encode


def reconcile(world: World) -> Reconcile:
    return world.reconcile()


async def open_checkout(world: World, order_id: str = "ord_1") -> str:
    if order_id not in world.orders.orders:
        world.orders.add(an_order(order_id, "user_1"))
    link = await world.create_session()(BUYER, order_id)
    return link.session_id


def stripe_says(world: World, session_id: str, **fields: object) -> None:
    session = world.stripe.sessions[session_id]
    world.stripe.sessions[session_id] = msgspec.structs.replace(session, **fields)


async def test_a_paid_session_without_webhook_becomes_success_once(world: World) -> None:
    session_id = await open_checkout(world)
    stripe_says(world, session_id, status="complete", payment_status="paid", payment_intent="pi_9")
    world.clock.advance(minutes=45)
    sweep = reconcile(world)

    first = await sweep()
    second = await sweep()

    payment = world.payment("ord_1")
    assert payment is not None and payment.status is PaymentStatus.SUCCESS
    assert payment.payment_intent == "pi_9"
    assert payment.pending_effects() == [ConfirmOrder("ord_1")]
    assert [(c.order_id, c.status_after) for c in first.changes] == [("ord_1", "SUCCESS")]
    assert first.changes[0].event_id == f"reconcile:{session_id}:paid"
    assert second.changes == []
    assert payment.version == 2


async def test_a_fresh_run_after_a_restart_changes_nothing_either(world: World) -> None:
    session_id = await open_checkout(world)
    stripe_says(world, session_id, status="expired")
    world.clock.advance(minutes=45)
    await reconcile(world)()
    again = await reconcile(world)()
    assert again.changes == [] and again.open_checked == 0


async def test_an_expired_session_fails_the_payment_and_releases_stock(world: World) -> None:
    session_id = await open_checkout(world)
    stripe_says(world, session_id, status="expired")
    world.clock.advance(minutes=45)

    summary = await reconcile(world)()

    payment = world.payment("ord_1")
    assert payment is not None and payment.status is PaymentStatus.FAILED
    assert ReleaseStock("ord_1", "prod_a", 2) in payment.pending_effects()
    assert summary.changes[0].event_type == "checkout.session.expired"


async def test_nothing_is_asked_before_expiry_and_grace(world: World) -> None:
    session_id = await open_checkout(world)
    stripe_says(world, session_id, status="expired")
    world.clock.advance(minutes=35)  # past expiry, within the 10-minute grace
    summary = await reconcile(world)()
    assert summary.open_checked == 0 and summary.changes == []


async def test_a_session_still_open_is_left_alone(world: World) -> None:
    await open_checkout(world)
    world.clock.advance(minutes=45)
    summary = await reconcile(world)()
    assert (summary.open_checked, summary.still_open, summary.changes) == (1, 1, [])


async def test_complete_but_unpaid_waits_for_the_async_result(world: World) -> None:
    session_id = await open_checkout(world)
    stripe_says(
        world, session_id, status="complete", payment_status="unpaid", payment_intent="pi_2"
    )
    world.clock.advance(minutes=45)
    sweep = reconcile(world)

    first = await sweep()
    second = await sweep()

    payment = world.payment("ord_1")
    assert payment is not None and payment.status is PaymentStatus.INITIATED
    assert payment.awaiting_async_payment
    assert len(first.changes) == 1 and second.changes == []
    # Now waiting on a delayed method: not asked about again before the delayed limit.
    assert second.open_checked == 0


async def test_undelivered_stripe_events_are_applied_once(world: World) -> None:
    session_id = await open_checkout(world)
    event = decode_stripe_event(
        encode(checkout_event("checkout.session.completed", "ord_1", session_id, evt_id="evt_lost"))
    )
    world.stripe.undelivered = [event]
    sweep = reconcile(world)

    first = await sweep()
    second = await sweep()

    assert [c.event_id for c in first.changes] == ["evt_lost"]
    assert first.undelivered_seen == second.undelivered_seen == 1
    assert second.changes == []
    payment = world.payment("ord_1")
    assert payment is not None and payment.status is PaymentStatus.SUCCESS


async def test_a_dry_run_reports_without_recording(world: World) -> None:
    session_id = await open_checkout(world)
    stripe_says(world, session_id, status="complete", payment_status="paid", payment_intent="pi_9")
    world.clock.advance(minutes=45)

    dry = await reconcile(world)(dry_run=True)

    payment = world.payment("ord_1")
    assert payment is not None and payment.status is PaymentStatus.INITIATED
    assert dry.dry_run and [c.order_id for c in dry.changes] == ["ord_1"]
    real = await reconcile(world)()
    assert [c.event_id for c in real.changes] == [c.event_id for c in dry.changes]


async def test_the_real_webhook_arriving_late_changes_nothing(world: World) -> None:
    session_id = await open_checkout(world)
    stripe_says(world, session_id, status="complete", payment_status="paid", payment_intent="pi_9")
    world.clock.advance(minutes=45)
    await reconcile(world)()
    late = decode_stripe_event(
        encode(checkout_event("checkout.session.expired", "ord_1", session_id))
    )
    await world.apply()(late)
    payment = world.payment("ord_1")
    assert payment is not None and payment.status is PaymentStatus.SUCCESS and payment.version == 2


async def test_only_overdue_open_payments_are_looked_up(world: World) -> None:
    done = await open_checkout(world, "ord_done")
    await world.apply()(
        decode_stripe_event(encode(checkout_event("checkout.session.completed", "ord_done", done)))
    )
    await open_checkout(world, "ord_open")
    world.clock.advance(minutes=45)
    summary = await reconcile(world)()
    assert summary.open_checked == 1


@dataclass
class StripeDown(FakeCheckoutGateway):
    async def retrieve_session(self, session_id: str) -> CheckoutSession:
        raise CheckoutUnavailable("stripe down")

    async def undelivered_events(self, since: datetime) -> list[StripeEvent]:
        raise CheckoutUnavailable("stripe down")


async def test_stripe_down_is_reported_and_nothing_changes(world: World) -> None:
    await open_checkout(world)
    world.clock.advance(minutes=45)
    world.stripe = StripeDown(world.clock)
    summary = await world.reconcile()()
    assert summary.changes == []
    assert len(summary.errors) == 2 and "ord_1" in summary.errors[1]
