"""Disputes (chargebacks) recorded from Stripe's events, through the use cases (issue 12)."""

from __future__ import annotations

import logging

import pytest

from application.apply_stripe_event import Outcome
from application.errors import CheckoutUnavailable
from application.ports import DisputeReport, PaymentIntentState
from application.stripe_events import decode_stripe_event
from domain.money import Money
from tests.application.conftest import AUDITOR, BUYER, World
from tests.application.test_refund_outcomes import ORDER, PAID, alerts, paid, stripe_sends
from tests.fakes import FakeCheckoutGateway
from tests.stripe_payloads import dispute_event, encode, refund_event


async def dispute_shown(world: World) -> tuple[str, Money | None, DisputeReport | None]:
    report = await world.status()(BUYER, ORDER)
    return report.status, report.refunded_amount, report.dispute


async def test_a_dispute_opened_then_won(world: World, caplog: pytest.LogCaptureFixture) -> None:
    await paid(world)

    with caplog.at_level(logging.INFO):
        opened = dispute_event("charge.dispute.created", "dp_1", "needs_response")
        assert await stripe_sends(world, opened) is Outcome.RECORDED
    assert alerts(caplog) == ["stripe opened a dispute on the payment"]
    assert await dispute_shown(world) == (
        "SUCCESS",
        None,
        DisputeReport("needs_response", PAID, "fraudulent"),
    )

    review = dispute_event("charge.dispute.updated", "dp_1", "under_review")
    assert await stripe_sends(world, review) is Outcome.RECORDED
    won = dispute_event("charge.dispute.closed", "dp_1", "won")
    assert await stripe_sends(world, won) is Outcome.RECORDED

    assert await dispute_shown(world) == ("SUCCESS", None, DisputeReport("won", PAID, "fraudulent"))
    # A late delivery of an earlier state changes nothing: closed is final.
    assert await stripe_sends(world, review) is Outcome.DUPLICATE
    stale = dispute_event("charge.dispute.updated", "dp_1", "under_review")
    assert await stripe_sends(world, stale) is Outcome.NO_CHANGE
    history = await world.history()(AUDITOR, ORDER)
    assert [e.type for e in history][-3:] == ["DisputeOpened", "DisputeUpdated", "DisputeClosed"]


async def test_a_dispute_lost_counts_its_money_as_returned(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await paid(world)
    await stripe_sends(world, dispute_event("charge.dispute.created", "dp_2", "needs_response"))

    with caplog.at_level(logging.INFO):
        lost = dispute_event("charge.dispute.closed", "dp_2", "lost")
        assert await stripe_sends(world, lost) is Outcome.RECORDED

    assert alerts(caplog) == [
        "stripe opened a dispute on the payment",
        "dispute lost: the money went back to the cardholder",
    ]
    assert await dispute_shown(world) == (
        "REFUNDED",
        PAID,
        DisputeReport("lost", PAID, "fraudulent"),
    )
    assert world.payment(ORDER).refundable == Money(0, "usd")


async def test_a_dispute_closed_before_its_creation_arrives_stays_closed(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await paid(world)
    with caplog.at_level(logging.INFO):
        lost = dispute_event("charge.dispute.closed", "dp_3", "lost", amount=5000)
        await stripe_sends(world, lost)
        created = dispute_event("charge.dispute.created", "dp_3", "needs_response", amount=5000)

        assert await stripe_sends(world, created) is Outcome.NO_CHANGE

    # Lost, whatever order Stripe's events came in: someone must hear of both.
    assert alerts(caplog) == [
        "stripe opened a dispute on the payment",
        "dispute lost: the money went back to the cardholder",
    ]

    status, refunded, dispute = await dispute_shown(world)
    assert (status, refunded) == ("PARTIALLY_REFUNDED", Money(5000, "usd"))
    assert dispute is not None and dispute.status == "lost"


async def test_a_dispute_on_a_payment_intent_that_is_not_ours_is_ignored(world: World) -> None:
    await paid(world)
    world.stripe.payment_intents["pi_other"] = PaymentIntentState("pi_other", "succeeded", None)
    other = dispute_event(
        "charge.dispute.created", "dp_4", "needs_response", payment_intent="pi_other"
    )

    assert await stripe_sends(world, other) is Outcome.IGNORED
    assert (await dispute_shown(world))[2] is None


async def test_reconcile_recovers_missed_refund_and_dispute_events(world: World) -> None:
    await paid(world)
    world.stripe.undelivered = [
        decode_stripe_event(
            encode(dispute_event("charge.dispute.created", "dp_5", "needs_response"))
        ),
        decode_stripe_event(encode(refund_event("refund.created", "re_dash", 1000, "succeeded"))),
    ]

    summary = await world.reconcile()()

    assert [(c.order_id, c.event_type) for c in summary.changes] == [
        (ORDER, "charge.dispute.created"),
        (ORDER, "refund.created"),
    ]
    status, refunded, dispute = await dispute_shown(world)
    assert (status, refunded) == ("PARTIALLY_REFUNDED", Money(1000, "usd"))
    assert dispute is not None and dispute.status == "needs_response"
    assert (await world.reconcile()()).changes == []  # applied once


@pytest.mark.parametrize("intent", ["", "pi_../../v1/charges", "ch_123", "pi_" + "x" * 300])
async def test_an_object_without_a_real_payment_intent_is_not_ours(
    world: World, intent: str
) -> None:
    await paid(world)
    world.stripe = NoIntentLookups(world.stripe.clock)  # Stripe is not even asked
    odd = dispute_event("charge.dispute.created", "dp_6", "needs_response", payment_intent=intent)

    assert await stripe_sends(world, odd) is Outcome.IGNORED


class NoIntentLookups(FakeCheckoutGateway):
    async def retrieve_payment_intent(self, intent_id: str) -> PaymentIntentState:
        raise CheckoutUnavailable(f"asked Stripe for {intent_id!r}")
