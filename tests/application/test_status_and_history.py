from __future__ import annotations

import pytest

from application.errors import OrderNotFound
from application.stripe_events import decode_stripe_event
from domain.money import Money
from domain.payment import payment_id_for
from tests.application.conftest import AUDITOR, BUYER, STRANGER, World
from tests.stripe_payloads import checkout_event, encode


async def test_status_right_after_create_reads_the_store_when_the_view_lags(world: World) -> None:
    await world.create_session()(BUYER, "ord_1")
    report = await world.status()(BUYER, "ord_1")
    assert report.status == "INITIATED"
    assert report.amount == Money(20498, "usd")
    assert report.session_id == "cs_test_1"


async def test_only_the_owner_or_an_auditor_sees_a_payment(world: World) -> None:
    await world.create_session()(BUYER, "ord_1")
    assert (await world.status()(AUDITOR, "ord_1")).user_id == "user_1"
    with pytest.raises(OrderNotFound):
        await world.status()(STRANGER, "ord_1")
    with pytest.raises(OrderNotFound):
        await world.history()(STRANGER, "ord_1")
    with pytest.raises(OrderNotFound):
        await world.status()(BUYER, "ord_missing")


async def test_history_lists_every_event_in_order_with_its_chain(world: World) -> None:
    link = await world.create_session()(BUYER, "ord_1")
    paid = checkout_event("checkout.session.completed", "ord_1", link.session_id)
    await world.apply()(decode_stripe_event(encode(paid)))
    history = await world.history()(AUDITOR, "ord_1")
    assert [(entry.version, entry.type) for entry in history] == [
        (1, "Initiated"),
        (2, "Succeeded"),
    ]
    assert history[1].previous_hash == history[0].chain_hash
    assert history[1].data["stripe_event_id"] == paid["id"]
    assert history[0].data["amount"] == {"minor": 20498, "currency": "usd"}


async def test_money_in_another_currency_is_reported_in_the_currency_it_came_in(
    world: World,
) -> None:
    """An order in USD paid in JPY: FAILED, and the yen go back as yen; the report names
    their currency beside the order's amount."""
    link = await world.create_session()(BUYER, "ord_1")
    paid = checkout_event(
        "checkout.session.completed", "ord_1", link.session_id, amount_total=3000, currency="jpy"
    )
    await world.apply()(decode_stripe_event(encode(paid)))

    owed = await world.status()(BUYER, "ord_1")
    assert (owed.status, owed.amount, owed.refund_currency) == (
        "FAILED",
        Money(20498, "usd"),
        "jpy",
    )
    assert (owed.refund_owed, owed.refunded_amount) == (Money(3000, "jpy"), None)

    await world.graph().settle_payment(payment_id_for("ord_1"))
    refunded = await world.status()(BUYER, "ord_1")
    assert world.stripe.refunds == [("pi_test_1", Money(3000, "jpy"), "refund:pi_test_1")]
    assert (refunded.status, refunded.refunded_amount, refunded.refund_owed) == (
        "REFUNDED",
        Money(3000, "jpy"),
        None,
    )
    assert refunded.refund_currency == "jpy"
