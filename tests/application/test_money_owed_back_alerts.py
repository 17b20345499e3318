"""Refunds of money the service owes back by itself that do not go through (ADR 0022).

Late money, a wrong amount, an order cancelled at the shop, and money paid on another
Checkout Session of the order (a stray session's) are owed back: when Stripe refuses
their refund at once, or fails it later, one `"alert": true` line says the money is
still owed and to refund it in the Stripe dashboard, once per refund, however often the
refusal or the failure is heard again. An operator's refund failing only makes its
amount refundable again, and its alert says so.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from application.apply_stripe_event import Outcome
from application.fulfilment import EffectsFailed
from application.ports import PaymentIntentState
from application.stripe_events import decode_stripe_event
from domain.lifecycle import PaymentStatus
from domain.money import Money
from domain.payment import payment_id_for
from tests.application.conftest import BUYER, World
from tests.stripe_payloads import checkout_event, dispute_event, encode, refund_event

ORDER = "ord_1"
STRAY = "cs_test_stray"
PAID = Money(20498, "usd")
STILL_OWED_FAILED = (
    "refund failed at stripe; the money is still owed back: refund it in the Stripe dashboard"
)
STILL_OWED_REFUSED = (
    "stripe refused a refund of money the service owes back; it is still owed: "
    "refund it in the Stripe dashboard"
)


async def stripe_sends(world: World, payload: dict[str, Any]) -> Outcome:
    return await world.apply()(decode_stripe_event(encode(payload)))


async def settle(world: World) -> int:
    return await world.graph().settle_payment(payment_id_for(ORDER))


async def stray_money(world: World) -> None:
    """The order's own session is open; money arrives on another session of the order."""
    await world.create_session()(BUYER, ORDER)
    stray = checkout_event("checkout.session.completed", ORDER, STRAY, payment_intent="pi_stray")
    assert await stripe_sends(world, stray) is Outcome.RECORDED


async def late_money(world: World) -> None:
    link = await world.create_session()(BUYER, ORDER)
    await stripe_sends(world, checkout_event("checkout.session.expired", ORDER, link.session_id))
    await stripe_sends(world, checkout_event("checkout.session.completed", ORDER, link.session_id))


def alerts(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if getattr(r, "alert", False)]


def stray_refund(event_type: str, status: str) -> dict[str, Any]:
    metadata = {"orderId": ORDER, "refundId": f"stray:{STRAY}"}
    return refund_event(event_type, "re_1", 20498, status, "pi_stray", metadata)


async def test_a_stray_refund_stripe_refuses_alerts_once_and_is_asked_again(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await stray_money(world)
    caplog.clear()  # its alert: money paid on another session, being refunded
    world.stripe.refusing_refunds = "charge_disputed"

    with caplog.at_level(logging.INFO):
        for _ in range(3):  # the effects queue parks the payment and asks again
            with pytest.raises(EffectsFailed) as refused:
                await settle(world)
            assert refused.value.refused

    assert alerts(caplog) == [STILL_OWED_REFUSED]
    alert = next(r for r in caplog.records if r.getMessage() == STILL_OWED_REFUSED)
    assert vars(alert)["refundId"] == f"stray:{STRAY}"
    assert "charge_disputed" in vars(alert)["why"]

    world.stripe.refusing_refunds = None  # the refusal cleared (a dispute won)
    assert await settle(world) == 1
    assert world.stripe.refunds == [("pi_stray", PAID, "refund:pi_stray")]
    assert world.payment(ORDER).pending_effects() == []


async def test_a_stray_refund_failing_later_says_the_money_is_still_owed_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await stray_money(world)
    caplog.clear()  # its alert: money paid on another session, being refunded
    world.stripe.refund_status = "pending"
    await settle(world)

    failed = stray_refund("refund.failed", "failed")
    with caplog.at_level(logging.INFO):
        assert await stripe_sends(world, failed) is Outcome.RECORDED
        assert await stripe_sends(world, failed) is Outcome.DUPLICATE
        again = stray_refund("refund.updated", "failed")
        assert await stripe_sends(world, again) is Outcome.NO_CHANGE
        assert await settle(world) == 0  # not retried: a person refunds it

    assert alerts(caplog) == [STILL_OWED_FAILED]
    assert world.payment(ORDER).status is PaymentStatus.INITIATED


async def test_a_stray_refund_stripe_answers_failed_alerts_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await stray_money(world)
    caplog.clear()  # its alert: money paid on another session, being refunded
    world.stripe.refund_status = "failed"

    with caplog.at_level(logging.INFO):
        assert await settle(world) == 1
        assert await stripe_sends(world, stray_refund("refund.failed", "failed")) in (
            Outcome.NO_CHANGE,
            Outcome.DUPLICATE,
        )
        assert await settle(world) == 0

    assert alerts(caplog) == [STILL_OWED_FAILED]


async def test_a_stray_refund_failing_before_the_creates_answer_alerts_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Stripe's refund.failed arrives first: it records the refund, failed; the create's
    answer then changes nothing."""
    await stray_money(world)
    caplog.clear()  # its alert: money paid on another session, being refunded

    with caplog.at_level(logging.INFO):
        failed = stray_refund("refund.failed", "failed")
        assert await stripe_sends(world, failed) is Outcome.RECORDED
        assert await settle(world) == 0

    assert alerts(caplog) == [STILL_OWED_FAILED]


async def test_late_money_whose_refund_stripe_refuses_alerts_once_and_stays_owed(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await late_money(world)
    world.stripe.refusing_refunds = "charge_disputed"

    with caplog.at_level(logging.INFO):
        for _ in range(2):
            with pytest.raises(EffectsFailed):
                await settle(world)

    assert alerts(caplog) == [STILL_OWED_REFUSED]
    report = await world.status()(BUYER, ORDER)
    assert (report.status, report.refund_owed) == ("FAILED", PAID)


async def test_late_money_whose_refund_fails_says_it_is_still_owed(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await late_money(world)
    world.stripe.refund_status = "pending"
    await settle(world)
    metadata = {"orderId": ORDER, "refundId": "owed"}
    failed = refund_event("refund.failed", "re_1", 20498, "failed", metadata=metadata)

    with caplog.at_level(logging.INFO):
        assert await stripe_sends(world, failed) is Outcome.RECORDED
        assert await stripe_sends(world, failed) is Outcome.DUPLICATE

    assert alerts(caplog) == [STILL_OWED_FAILED]


async def test_late_money_taken_back_by_a_lost_dispute_is_not_refunded_again(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Stripe refuses to refund a disputed charge; once the dispute is lost the money is the
    cardholder's already: nothing is owed, nothing is asked again, no failure is alerted."""
    await late_money(world)
    world.stripe.payment_intents["pi_test_1"] = PaymentIntentState("pi_test_1", "succeeded", ORDER)
    opened = dispute_event("charge.dispute.created", "dp_1", "needs_response")
    assert await stripe_sends(world, opened) is Outcome.RECORDED
    world.stripe.refusing_refunds = "charge_disputed"
    with pytest.raises(EffectsFailed):
        await settle(world)

    lost = dispute_event("charge.dispute.closed", "dp_1", "lost")
    assert await stripe_sends(world, lost) is Outcome.RECORDED
    caplog.clear()

    with caplog.at_level(logging.INFO):
        await settle(world)  # the parked payment settles: no refund is owed

    assert alerts(caplog) == []
    assert world.stripe.refunds == []
    assert world.payment(ORDER).pending_effects() == []
    report = await world.status()(BUYER, ORDER)
    assert (report.status, report.refunded_amount, report.refund_owed) == ("REFUNDED", PAID, None)


async def test_late_money_partly_taken_back_by_a_lost_dispute_refunds_the_rest(
    world: World,
) -> None:
    await late_money(world)
    world.stripe.payment_intents["pi_test_1"] = PaymentIntentState("pi_test_1", "succeeded", ORDER)
    lost = dispute_event("charge.dispute.closed", "dp_1", "lost", amount=5000)
    assert await stripe_sends(world, lost) is Outcome.RECORDED

    assert (await world.status()(BUYER, ORDER)).refund_owed == Money(15498, "usd")
    await settle(world)

    assert world.stripe.refunds == [("pi_test_1", Money(15498, "usd"), "refund:pi_test_1")]
    report = await world.status()(BUYER, ORDER)
    assert (report.status, report.refunded_amount, report.refund_owed) == ("REFUNDED", PAID, None)
