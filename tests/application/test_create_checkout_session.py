from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from application.checkout import CheckoutLink
from application.errors import (
    CheckoutUnavailable,
    OrderNotFound,
    OrderNotPayable,
    OrderServiceUnavailable,
    PaymentAlreadyCompleted,
)
from application.ports import CheckoutRequest, CheckoutSession
from domain.errors import InvalidOrder
from domain.lifecycle import FailureReason
from domain.money import Money
from tests.application.conftest import BUYER, STRANGER, World
from tests.fakes import an_order


async def test_opens_a_session_and_records_the_payment(world: World) -> None:
    link = await world.create_session()(BUYER, "ord_1")
    assert link.session_id == "cs_test_1"
    payment = world.payment("ord_1")
    assert payment.checkout_session_id == "cs_test_1"
    assert payment.amount == Money(20498, "usd")
    assert payment.user_email == "buyer@example.com"
    # The payment expires when Stripe says its session does.
    assert payment.expires_at == world.stripe.sessions["cs_test_1"].expires_at


async def test_a_second_call_returns_the_same_session_without_calling_stripe(world: World) -> None:
    first = await world.create_session()(BUYER, "ord_1")
    second = await world.create_session()(BUYER, "ord_1")
    assert first == second
    assert world.stripe.calls == 1


async def test_someone_elses_order_is_not_found(world: World) -> None:
    with pytest.raises(OrderNotFound):
        await world.create_session()(STRANGER, "ord_1")
    with pytest.raises(OrderNotFound):
        await world.create_session()(BUYER, "no_such_order")
    assert world.stripe.calls == 0


@pytest.mark.parametrize("status", ["CONFIRMED", "CANCELLED", "SHIPPED"])
async def test_only_pending_orders_are_payable(world: World, status: str) -> None:
    world.orders.add(an_order("ord_2", "user_1", status=status))
    with pytest.raises(OrderNotPayable, match=f"with status: {status}"):
        await world.create_session()(BUYER, "ord_2")


async def test_a_paid_order_cannot_be_paid_again(world: World) -> None:
    await world.create_session()(BUYER, "ord_1")
    payment = world.payment("ord_1")
    payment.succeed("evt_1", "pi_1", "b@example.com", payment.amount)
    world.ledger.record(payment)
    with pytest.raises(PaymentAlreadyCompleted):
        await world.create_session()(BUYER, "ord_1")


async def test_a_failed_payment_is_not_reopened(world: World) -> None:
    await world.create_session()(BUYER, "ord_1")
    payment = world.payment("ord_1")
    payment.fail(FailureReason.EXPIRED, "evt_1")
    world.ledger.record(payment)
    with pytest.raises(OrderNotPayable):
        await world.create_session()(BUYER, "ord_1")
    assert world.stripe.calls == 1


async def test_stripe_or_order_service_down_records_nothing(world: World) -> None:
    world.stripe.down = True
    with pytest.raises(CheckoutUnavailable):
        await world.create_session()(BUYER, "ord_1")
    world.stripe.down = False
    world.orders.down = True
    with pytest.raises(OrderServiceUnavailable):
        await world.create_session()(BUYER, "ord_1")
    assert world.ledger.find("ord_1") is None


async def test_an_order_whose_lines_do_not_add_up_is_never_charged(world: World) -> None:
    order = an_order("ord_3", "user_1")
    world.orders.add(type(order)("ord_3", "user_1", "PENDING", order.lines, Money(1, "usd")))
    with pytest.raises(InvalidOrder):
        await world.create_session()(BUYER, "ord_3")
    assert world.ledger.find("ord_3") is None


def test_twenty_concurrent_creates_end_with_one_payment_and_one_session(world: World) -> None:
    barrier = threading.Barrier(20)
    links, errors = [], []

    def create() -> None:
        barrier.wait()
        try:
            links.append(asyncio.run(world.create_session()(BUYER, "ord_1")))
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=create) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {link.session_id for link in links} == {"cs_test_1"}
    assert len(world.stripe.sessions) == 1
    assert world.payment("ord_1").version == 1
    assert world.stripe.expired == []


def test_a_racing_create_that_got_its_own_session_expires_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Creates straddling an idempotency-key boundary get different sessions: the loser's
    session is expired at Stripe so it can never be paid."""
    callers = 5
    keys = iter(range(100))
    original = world.stripe.open_session
    # Every caller is held inside Stripe's open_session until all are: none can have
    # recorded its payment first, so all five open a session and all five race to record.
    all_inside = threading.Barrier(callers)

    async def fresh_key_each_time(request: CheckoutRequest) -> CheckoutSession:
        session = await original(
            type(request)(request.order, request.customer_email, f"k{next(keys)}")
        )
        await asyncio.to_thread(all_inside.wait, 10)
        return session

    monkeypatch.setattr(world.stripe, "open_session", fresh_key_each_time)
    links: list[CheckoutLink] = []
    errors: list[Exception] = []

    def create() -> None:
        try:
            links.append(asyncio.run(world.create_session()(BUYER, "ord_1")))
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=create) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(world.stripe.sessions) == callers  # the race did happen
    winner = world.payment("ord_1").checkout_session_id
    assert {link.session_id for link in links} == {winner}
    assert len(links) == callers
    assert sorted(world.stripe.expired) == sorted(s for s in world.stripe.sessions if s != winner)
    assert winner not in world.stripe.expired


async def test_an_order_changed_after_checkout_opened_closes_the_stale_session(
    world: World,
) -> None:
    first = await world.create_session()(BUYER, "ord_1")
    world.orders.add(an_order("ord_1", "user_1", lines=(an_order().lines[0],)))
    with pytest.raises(InvalidOrder, match="changed"):
        await world.create_session()(BUYER, "ord_1")
    assert world.stripe.expired == [first.session_id]


async def test_a_lost_race_whose_duplicate_cannot_be_expired_still_gets_the_winners_link(
    world: World,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = world.stripe.open_session
    winner: list[CheckoutLink] = []

    async def someone_else_wins_meanwhile(request: CheckoutRequest) -> CheckoutSession:
        monkeypatch.setattr(world.stripe, "open_session", original)
        winner.append(await world.create_session()(BUYER, "ord_1"))
        return await original(type(request)(request.order, request.customer_email, "later-key"))

    async def stripe_fails(session_id: str) -> str:
        raise CheckoutUnavailable("stripe down", request_id="req_fake")

    monkeypatch.setattr(world.stripe, "open_session", someone_else_wins_meanwhile)
    monkeypatch.setattr(world.stripe, "expire_session", stripe_fails)

    with caplog.at_level(logging.WARNING):
        link = await world.create_session()(BUYER, "ord_1")

    assert link == winner[0]
    assert len(world.stripe.sessions) == 2
    alerts = [r for r in caplog.records if getattr(r, "alert", False)]
    duplicate = next(s for s in world.stripe.sessions if s != link.session_id)
    assert [getattr(r, "sessionId", None) for r in alerts] == [duplicate]
