"""Refunds from order to Stripe's last word, through the use cases (issue 12).

An operator's refund is recorded, sent by the effects queue under a key of its own, and
followed by Stripe's refund events; a refund made in Stripe's dashboard is recorded as
external. The store is real (SQLite and PostgreSQL); Stripe and the neighbours are fakes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest

from application.apply_stripe_event import Outcome
from application.errors import CheckoutRejected, PaymentAlreadyCompleted
from application.ports import PaymentIntentState, RefundReceipt
from application.stripe_events import decode_stripe_event
from domain.errors import RefundExceedsRefundable
from domain.money import Money
from domain.payment import payment_id_for
from tests.application.conftest import AUDITOR, BUYER, World
from tests.fakes import FakeCheckoutGateway, an_order
from tests.stripe_payloads import (
    charge_refunded_event,
    checkout_event,
    encode,
    refund_event,
)

ORDER = "ord_1"
PAID = Money(20498, "usd")


def usd(minor: int) -> Money:
    return Money(minor, "usd")


async def paid(world: World) -> None:
    """A paid, confirmed payment; Stripe knows its PaymentIntent belongs to the order."""
    link = await world.create_session()(BUYER, ORDER)
    await stripe_sends(world, checkout_event("checkout.session.completed", ORDER, link.session_id))
    world.stripe.payment_intents["pi_test_1"] = PaymentIntentState("pi_test_1", "succeeded", ORDER)
    await settle(world)


async def stripe_sends(world: World, payload: dict[str, Any]) -> Outcome:
    return await world.apply()(decode_stripe_event(encode(payload)))


async def settle(world: World) -> int:
    return await world.graph().settle_payment(payment_id_for(ORDER))


def order_refund(
    world: World, refund_id: str, amount: Money | None, reason: str | None = None
) -> Money:
    payment = world.payment(ORDER)
    asked = payment.request_refund(refund_id, amount, reason)
    world.ledger.record(payment)
    return asked


async def refunded(world: World) -> tuple[str, Money | None]:
    report = await world.status()(BUYER, ORDER)
    return report.status, report.refunded_amount


async def owed(world: World) -> Money | None:
    """What the status says the service owes back and no refund covers (None: nothing)."""
    return (await world.status()(BUYER, ORDER)).refund_owed


def alerts(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if getattr(r, "alert", False)]


async def test_a_partial_refund_then_the_rest(world: World) -> None:
    await paid(world)

    order_refund(world, "rf_part", usd(5000), "requested_by_customer")
    assert await refunded(world) == ("PARTIALLY_REFUNDED", usd(5000))
    await settle(world)

    assert world.stripe.refunds[-1] == ("pi_test_1", usd(5000), "refund:rf_part")
    assert world.stripe.refund_requests[-1] == {
        "key": "refund:rf_part",
        "reason": "requested_by_customer",
        "metadata": {"orderId": ORDER, "refundId": "rf_part"},
    }
    assert await refunded(world) == ("PARTIALLY_REFUNDED", usd(5000))

    assert order_refund(world, "rf_rest", None) == usd(15498)
    await settle(world)

    assert [r[1:] for r in world.stripe.refunds] == [
        (usd(5000), "refund:rf_part"),
        (usd(15498), "refund:rf_rest"),
    ]
    assert await refunded(world) == ("REFUNDED", PAID)
    assert await settle(world) == 0  # nothing more is owed


async def test_an_over_refund_is_refused_and_sends_nothing(world: World) -> None:
    await paid(world)
    order_refund(world, "rf_1", usd(20000))

    with pytest.raises(RefundExceedsRefundable):
        order_refund(world, "rf_2", usd(499))

    await settle(world)
    assert [r[1] for r in world.stripe.refunds] == [usd(20000)]
    assert world.payment(ORDER).refundable == usd(498)


async def test_a_refund_failing_at_stripe_alerts_and_gives_the_status_back(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await paid(world)
    world.stripe.refund_status = "pending"
    order_refund(world, "rf_1", None)
    await settle(world)
    assert await refunded(world) == ("PARTIALLY_REFUNDED", PAID)  # pending: not back yet

    failed = refund_event(
        "refund.failed", "re_1", 20498, "failed", metadata={"orderId": ORDER, "refundId": "rf_1"}
    )
    with caplog.at_level(logging.INFO):
        assert await stripe_sends(world, failed) is Outcome.RECORDED

    assert alerts(caplog) == ["refund failed at stripe; its amount is refundable again"]
    assert await refunded(world) == ("SUCCESS", None)
    assert world.payment(ORDER).refundable == PAID
    assert await stripe_sends(world, failed) is Outcome.DUPLICATE
    late = refund_event(
        "refund.updated",
        "re_1",
        20498,
        "succeeded",
        metadata={"orderId": ORDER, "refundId": "rf_1"},
    )
    assert await stripe_sends(world, late) is Outcome.NO_CHANGE  # failed is final
    assert await settle(world) == 0  # and not sent again


async def test_a_refund_stripe_refuses_is_recorded_failed_with_an_alert(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await paid(world)
    world.stripe = RefusingRefunds(world.stripe.clock, payment_intents=world.stripe.payment_intents)
    order_refund(world, "rf_1", usd(100))

    with caplog.at_level(logging.INFO):
        assert await settle(world) == 1

    assert alerts(caplog) == ["stripe refused a refund; nothing was refunded"]
    refund = world.payment(ORDER).refund("rf_1")
    assert refund is not None and refund.status == "failed"
    assert await refunded(world) == ("SUCCESS", None)


async def test_a_refund_event_before_the_creates_answer_is_the_answer(world: World) -> None:
    await paid(world)
    order_refund(world, "rf_1", usd(100))
    created = refund_event(
        "refund.created", "re_9", 100, "pending", metadata={"orderId": ORDER, "refundId": "rf_1"}
    )

    assert await stripe_sends(world, created) is Outcome.RECORDED

    assert await settle(world) == 0  # Stripe has it: no second call
    refund = world.payment(ORDER).refund("rf_1")
    assert refund is not None and refund.stripe_refund_id == "re_9"


async def test_a_dashboard_refund_is_recorded_as_external(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await paid(world)
    dashboard = refund_event("refund.created", "re_dash", 4498, "succeeded")

    with caplog.at_level(logging.INFO):
        assert await stripe_sends(world, dashboard) is Outcome.RECORDED

    assert await refunded(world) == ("PARTIALLY_REFUNDED", usd(4498))
    assert world.payment(ORDER).refundable == usd(16000)
    assert any(r.getMessage() == "refund made outside the service recorded" for r in caplog.records)
    # The charge's running total says the same: nothing more went back.
    assert await stripe_sends(world, charge_refunded_event(4498)) is Outcome.NO_CHANGE
    assert await refunded(world) == ("PARTIALLY_REFUNDED", usd(4498))


async def test_a_charge_refunded_in_full_outside_the_service_ends_refunded(world: World) -> None:
    await paid(world)

    assert await stripe_sends(world, charge_refunded_event(20498)) is Outcome.RECORDED
    assert await refunded(world) == ("REFUNDED", PAID)

    # The dashboard refund behind it, named later, is the same money.
    named = refund_event("refund.created", "re_dash", 20498, "succeeded")
    assert await stripe_sends(world, named) is Outcome.RECORDED
    assert await refunded(world) == ("REFUNDED", PAID)


async def test_a_late_payments_refund_that_fails_stays_owed_and_is_not_retried(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    link = await world.create_session()(BUYER, ORDER)
    await stripe_sends(world, checkout_event("checkout.session.expired", ORDER, link.session_id))
    await stripe_sends(world, checkout_event("checkout.session.completed", ORDER, link.session_id))
    world.stripe.refund_status = "pending"
    await settle(world)
    assert world.stripe.refund_requests[-1]["metadata"] == {"orderId": ORDER, "refundId": "owed"}
    assert (await refunded(world))[0] == "FAILED"  # pending: the money is not back yet
    assert await owed(world) is None  # on its way back

    failed = refund_event(
        "refund.failed", "re_1", 20498, "failed", metadata={"orderId": ORDER, "refundId": "owed"}
    )
    with caplog.at_level(logging.INFO):
        assert await stripe_sends(world, failed) is Outcome.RECORDED

    assert alerts(caplog) == [
        "refund failed at stripe; the money is still owed back: refund it in the Stripe dashboard"
    ]
    assert await refunded(world) == ("FAILED", None)
    assert await owed(world) == PAID  # the status says so, not only the alert
    assert await settle(world) == 0  # Stripe would replay the failed refund under its key

    # Refunded by hand in the dashboard: recorded, and the payment ends REFUNDED.
    world.stripe.payment_intents["pi_test_1"] = PaymentIntentState("pi_test_1", "succeeded", ORDER)
    await stripe_sends(world, refund_event("refund.created", "re_hand", 20498, "succeeded"))
    assert await refunded(world) == ("REFUNDED", PAID)
    assert await owed(world) is None


async def test_history_shows_every_refund_event(world: World) -> None:
    await paid(world)
    order_refund(world, "rf_1", usd(100), "duplicate")
    await settle(world)
    await stripe_sends(world, refund_event("refund.created", "re_dash", 200, "pending"))

    history = await world.history()(AUDITOR, ORDER)

    types = [entry.type for entry in history]
    assert types[-3:] == ["RefundOrdered", "RefundReported", "ExternalRefundRecorded"]
    assert history[-3].data["amount"] == {"minor": 100, "currency": "usd"}
    assert history[-2].data["refund_status"] == "succeeded"
    assert history[-1].data["refund_status"] == "pending"


class RefusingRefunds(FakeCheckoutGateway):
    """Stripe refusing every refund for good (a 4xx retrying cannot change)."""

    async def refund(
        self,
        payment_intent: str,
        amount: Money,
        idempotency_key: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> RefundReceipt:
        raise CheckoutRejected(
            f"Stripe refused to refund {payment_intent}: HTTP 400 charge_disputed"
        )


async def test_a_refunded_payment_is_still_a_completed_one_to_checkout(world: World) -> None:
    await paid(world)
    order_refund(world, "rf_1", None)
    await settle(world)
    world.orders.add(an_order(ORDER, "user_1"))  # the shop still says PENDING

    with pytest.raises(PaymentAlreadyCompleted):
        await world.create_session()(BUYER, ORDER)
