"""Money paid on a Checkout Session of the order that is not its recorded one (issue 11 item 1).

A duplicate session whose expiry failed, or the session of a create that lost a race, is
still ours: Stripe signed the event and the session names the order. Money paid on it is
recorded on the order's payment and refunded through the effects path, with an alert;
it never confirms the order. A decline on such a session leaves the live payment alone.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from application.apply_stripe_event import ApplyStripeEvent, Outcome
from application.fulfilment import SettlePayment
from application.stripe_events import StripeEvent, decode_stripe_event
from domain.effects import RefundPayment
from domain.lifecycle import FailedPaymentPolicy, PaymentStatus
from domain.money import Money
from domain.order import OrderStatus
from domain.payment import payment_id_for
from tests.application.conftest import BUYER, World
from tests.stripe_payloads import checkout_event, encode, payment_failed_event

ORDER = "ord_1"
STRAY = "cs_test_stray"
PAID_EVENTS = ["checkout.session.completed", "checkout.session.async_payment_succeeded"]


class Shelves:
    """The inventory service, structurally (its port is being renamed): takes every release."""

    def __init__(self) -> None:
        self.releases: list[tuple[str, str, int]] = []

    async def release(self, order_id: str, product_id: str, quantity: int) -> None:
        self.releases.append((order_id, product_id, quantity))


def decoded(payload: dict[str, Any]) -> StripeEvent:
    return decode_stripe_event(encode(payload))


def on_session(event_type: str, session_id: str, **fields: Any) -> StripeEvent:
    return decoded(checkout_event(event_type, ORDER, session_id, **fields))


def stray_paid(event_type: str = "checkout.session.completed", **fields: Any) -> StripeEvent:
    fields.setdefault("payment_intent", "pi_stray")
    return on_session(event_type, STRAY, **fields)


def declined(intent: str, attempt: str | None = None) -> StripeEvent:
    payload = payment_failed_event(ORDER, payment_intent=intent)
    if attempt is not None:
        payload["data"]["object"]["metadata"]["checkoutAttempt"] = attempt
    return decoded(payload)


def settle(world: World) -> SettlePayment:
    return SettlePayment(world.ledger, world.orders, Shelves(), world.stripe)


def recorded(world: World) -> list[str]:
    return [type(e).__name__ for e in world.ledger.history(payment_id_for(ORDER))]


@pytest.fixture
async def session_id(world: World) -> str:
    return (await world.create_session()(BUYER, ORDER)).session_id


@pytest.mark.parametrize("event_type", PAID_EVENTS)
async def test_money_on_another_session_of_the_order_is_recorded_and_owes_a_refund(
    world: World, session_id: str, event_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        outcome = await world.apply()(stray_paid(event_type, amount_total=20498))

    assert outcome is Outcome.RECORDED
    payment = world.payment(ORDER)
    assert payment.status is PaymentStatus.INITIATED  # the order's own session is still open
    assert payment.checkout_session_id == session_id
    assert payment.pending_effects() == [
        RefundPayment(ORDER, "pi_stray", Money(20498, "usd"), stray_session=STRAY)
    ]
    alerts = [r for r in caplog.records if getattr(r, "alert", False)]
    assert [getattr(r, "sessionId", None) for r in alerts] == [STRAY]


async def test_stray_money_is_refunded_under_its_own_key_and_never_confirms(
    world: World, session_id: str
) -> None:
    await world.apply()(stray_paid())
    await settle(world)(payment_id_for(ORDER))

    assert world.stripe.refunds == [("pi_stray", Money(20498, "usd"), "refund:pi_stray")]
    assert world.orders.statuses_set == []
    assert recorded(world)[-2:] == ["StrayPaymentReceived", "StrayPaymentRefunded"]
    assert world.payment(ORDER).pending_effects() == []
    assert world.payment(ORDER).status is PaymentStatus.INITIATED

    # The order's own session expires unpaid: the order is cancelled, the stray stays refunded.
    await world.apply()(on_session("checkout.session.expired", session_id))
    await settle(world)(payment_id_for(ORDER))
    assert world.orders.statuses_set == [(ORDER, OrderStatus.CANCELLED)]
    assert len(world.stripe.refunds) == 1


async def test_two_refunds_of_one_order_never_share_an_idempotency_key(
    world: World, session_id: str
) -> None:
    await world.apply()(on_session("checkout.session.expired", session_id))
    await world.apply()(on_session("checkout.session.completed", session_id, payment_intent="pi_1"))
    await world.apply()(stray_paid())

    await settle(world)(payment_id_for(ORDER))

    keys = sorted(key for _, _, key in world.stripe.refunds)
    assert keys == ["refund:pi_1", "refund:pi_stray"]
    assert world.payment(ORDER).status is PaymentStatus.REFUNDED


async def test_a_paid_order_refunds_stray_money_and_stays_confirmed(
    world: World, session_id: str
) -> None:
    await world.apply()(on_session("checkout.session.completed", session_id, payment_intent="pi_1"))
    await world.apply()(stray_paid())

    await settle(world)(payment_id_for(ORDER))

    assert world.orders.statuses_set == [(ORDER, OrderStatus.CONFIRMED)]
    assert [intent for intent, _, _ in world.stripe.refunds] == ["pi_stray"]
    assert world.payment(ORDER).status is PaymentStatus.SUCCESS


async def test_stray_money_is_recorded_once_per_session_whoever_reports_it(
    world: World, session_id: str
) -> None:
    """The webhook, its redelivery, the async result and reconciliation's rebuilt event."""
    first = stray_paid()
    assert await world.apply()(first) is Outcome.RECORDED
    assert await world.apply()(first) is Outcome.DUPLICATE
    assert await world.apply()(stray_paid()) is Outcome.NO_CHANGE
    rebuilt = decoded(
        {**checkout_event("checkout.session.completed", ORDER, STRAY), "id": f"reconcile:{STRAY}"}
    )
    assert await world.apply()(rebuilt) is Outcome.NO_CHANGE
    assert recorded(world).count("StrayPaymentReceived") == 1


async def test_an_unpaid_or_expired_stray_session_records_nothing(
    world: World, session_id: str
) -> None:
    for event in (
        on_session("checkout.session.completed", STRAY, payment_status="unpaid"),
        on_session("checkout.session.expired", STRAY),
        on_session("checkout.session.async_payment_failed", STRAY),
    ):
        assert await world.apply()(event) is Outcome.IGNORED
    assert world.payment(ORDER).version == 1


async def test_a_stray_amount_that_is_absurd_is_not_money_received(
    world: World, session_id: str
) -> None:
    assert await world.apply()(stray_paid(amount_total=-5)) is Outcome.IGNORED
    assert world.payment(ORDER).version == 1


@pytest.mark.parametrize("policy", list(FailedPaymentPolicy))
async def test_a_decline_on_another_attempt_leaves_the_live_payment_alone(
    world: World, session_id: str, policy: FailedPaymentPolicy
) -> None:
    """The session's PaymentIntent carries the create attempt that opened it (its metadata)."""
    outcome = await ApplyStripeEvent(world.ledger, policy)(
        declined("pi_stray", attempt="checkout:ord_1:another-attempt")
    )
    assert outcome is Outcome.IGNORED
    payment = world.payment(ORDER)
    assert payment.status is PaymentStatus.INITIATED and payment.version == 1


async def test_a_decline_on_the_recorded_attempt_still_fails_the_payment(
    world: World, session_id: str
) -> None:
    attempt = world.payment(ORDER).checkout_attempt
    assert attempt, "the payment records the create attempt that opened its session"
    assert await world.apply()(declined("pi_1", attempt=attempt)) is Outcome.RECORDED
    assert world.payment(ORDER).status is PaymentStatus.FAILED


async def test_a_decline_of_another_intent_once_ours_is_known_changes_nothing(
    world: World, session_id: str
) -> None:
    unpaid = on_session(
        "checkout.session.completed", session_id, payment_status="unpaid", payment_intent="pi_1"
    )
    await world.apply()(unpaid)  # a delayed method: the payment now knows its intent

    assert await world.apply()(declined("pi_stray")) is Outcome.IGNORED
    assert world.payment(ORDER).status is PaymentStatus.INITIATED


async def test_a_decline_without_any_mark_is_taken_as_the_recorded_sessions(
    world: World, session_id: str
) -> None:
    """Sessions opened before attempts were marked: the seed's behaviour stands."""
    assert await world.apply()(declined("pi_1")) is Outcome.RECORDED
    assert world.payment(ORDER).status is PaymentStatus.FAILED
