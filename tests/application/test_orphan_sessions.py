"""Checkout Sessions nobody holds the URL of are expired when they turn up (issue 11 item 4).

A create whose answer was lost after Stripe made the session, or a race whose loser could
not expire its own, leaves an open session that no payment records. Reconciliation
finds them among Stripe's open sessions and expires them; money paid on one of an order
without any payment is an alert (there is no payment to refund it through).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from application.apply_stripe_event import Outcome
from application.ports import CheckoutSession
from application.reconcile import Reconcile
from application.stripe_events import decode_stripe_event
from infrastructure.event_store.open_payments_index import FollowedOpenPayments
from tests.application.conftest import BUYER, World
from tests.stripe_payloads import checkout_event, encode


def reconcile(world: World) -> Reconcile:
    return Reconcile(
        world.ledger, world.stripe, world.apply(), world.clock, FollowedOpenPayments(world.ledger)
    )


def stripe_has(world: World, session_id: str, order_id: str | None, **fields: Any) -> None:
    """A session at Stripe that no create of ours returned to anyone."""
    fields.setdefault("attempt", f"checkout:{order_id}:lost")
    fields.setdefault("created", world.clock.now())
    world.stripe.sessions[session_id] = CheckoutSession(
        session_id=session_id,
        url=f"https://checkout.example/{session_id}",
        expires_at=world.clock.now() + timedelta(minutes=30),
        order_id=order_id,
        **fields,
    )


@pytest.fixture
async def recorded(world: World) -> str:
    return (await world.create_session()(BUYER, "ord_1")).session_id


async def test_a_duplicate_session_of_a_paid_for_order_is_expired_at_once(
    world: World, recorded: str
) -> None:
    stripe_has(world, "cs_lost_race", "ord_1")

    summary = await reconcile(world)()
    again = await reconcile(world)()

    assert world.stripe.expired == ["cs_lost_race"]
    assert summary.strays_closed == ["cs_lost_race"] and again.strays_closed == []


async def test_an_orphan_of_an_order_without_payment_is_expired_after_the_grace(
    world: World,
) -> None:
    stripe_has(world, "cs_orphan", "ord_2", created=world.clock.now() - timedelta(minutes=15))
    stripe_has(world, "cs_being_recorded", "ord_3")  # its create may still be recording it

    summary = await reconcile(world)()

    assert world.stripe.expired == ["cs_orphan"]
    assert summary.strays_closed == ["cs_orphan"]


async def test_sessions_that_are_not_ours_are_left_alone(world: World, recorded: str) -> None:
    long_ago = world.clock.now() - timedelta(hours=2)
    stripe_has(world, "cs_other_app", "ord_9", attempt="", created=long_ago)
    stripe_has(world, "cs_no_order", None, created=long_ago)

    summary = await reconcile(world)()

    assert world.stripe.expired == [] and summary.strays_closed == []


async def test_a_dry_run_reports_the_strays_without_expiring_them(
    world: World, recorded: str
) -> None:
    stripe_has(world, "cs_lost_race", "ord_1")

    summary = await reconcile(world)(dry_run=True)

    assert summary.strays_closed == ["cs_lost_race"] and world.stripe.expired == []


async def test_money_on_a_session_of_an_order_without_payment_is_an_alert(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    paid = checkout_event("checkout.session.completed", "ord_never_opened", "cs_orphan")
    paid["data"]["object"]["metadata"]["checkoutAttempt"] = "checkout:ord_never_opened:lost"

    with caplog.at_level(logging.INFO):
        outcome = await world.apply()(decode_stripe_event(encode(paid)))

    assert outcome is Outcome.IGNORED
    alerts = [r for r in caplog.records if getattr(r, "alert", False)]
    assert [getattr(r, "sessionId", None) for r in alerts] == ["cs_orphan"]
