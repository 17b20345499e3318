"""Stories the lifecycle model (test_lifecycle_model.py) shrank to while it was being built,
kept as plain tests: each pins down what the model's invariants first got wrong about the
service, so that understanding is not lost if the model changes."""

from __future__ import annotations

from typing import Any

import msgspec

from application.apply_stripe_event import Outcome
from application.fulfilment import SettlePayment
from application.reconcile import Reconcile
from application.stripe_events import StripeEvent, decode_stripe_event
from domain.lifecycle import FailureReason, PaymentStatus
from domain.money import Money
from domain.order import OrderStatus
from domain.payment import payment_id_for
from infrastructure.event_store.open_payments_index import FollowedOpenPayments
from tests.application.conftest import BUYER, World
from tests.fakes import FakeInventory
from tests.stripe_payloads import checkout_event, encode

ORDER = "ord_1"
SHORT = Money(20497, "usd")  # the page was opened for an order that then cost a cent more


def decoded(payload: dict[str, Any]) -> StripeEvent:
    return decode_stripe_event(encode(payload))


def history(world: World) -> list[tuple[str, str | None]]:
    return [
        (type(e).__name__, vars(e).get("stripe_event_id"))
        for e in world.ledger.history(payment_id_for(ORDER))
    ]


async def test_one_event_records_two_facts_once_whoever_repeats_it(world: World) -> None:
    """A wrong amount is one Stripe event recording two facts (Failed, RefundRequested):
    its redelivery and reconciliation's rebuilt event add nothing."""
    session_id = (await world.create_session()(BUYER, ORDER)).session_id
    paid = decoded(
        checkout_event(
            "checkout.session.completed", ORDER, session_id,
            amount_total=SHORT.minor, evt_id="evt_short",
        )
    )  # fmt: skip

    assert await world.apply()(paid) is Outcome.RECORDED
    assert await world.apply()(paid) is Outcome.DUPLICATE
    world.stripe.undelivered = [paid]  # Stripe lists it too: its first delivery failed
    sweep = Reconcile(
        world.ledger, world.stripe, world.apply(), world.clock, FollowedOpenPayments(world.ledger)
    )
    assert (await sweep()).changes == []

    assert history(world)[1:] == [("Failed", "evt_short"), ("RefundRequested", "evt_short")]
    assert world.payment(ORDER).refund_due == SHORT


async def test_money_charged_on_a_stale_page_of_a_cancelled_order_is_given_back_as_charged(
    world: World,
) -> None:
    """The refund is what Stripe charged (the page's amount), never the order's total,
    whether or not the order was cancelled at the shop meanwhile."""
    session_id = (await world.create_session()(BUYER, ORDER)).session_id
    world.orders.orders[ORDER] = msgspec.structs.replace(
        world.orders.orders[ORDER], status=OrderStatus.CANCELLED
    )
    short = checkout_event(
        "checkout.session.completed", ORDER, session_id, amount_total=SHORT.minor
    )
    await world.apply()(decoded(short))

    await SettlePayment(world.ledger, world.orders, FakeInventory(), world.stripe)(
        payment_id_for(ORDER)
    )

    payment = world.payment(ORDER)
    assert payment.failure_reason is FailureReason.AMOUNT_MISMATCH
    assert payment.status is PaymentStatus.REFUNDED
    assert world.stripe.refunds == [("pi_test_1", SHORT, "refund:pi_test_1")]
    assert world.orders.statuses_set == [(ORDER, OrderStatus.CANCELLED)]
