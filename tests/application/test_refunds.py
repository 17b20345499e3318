"""`RequestRefund`: an admin's refund, once per Idempotency-Key, on a real store with fakes."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from application.errors import AdminRoleRequired, IdempotencyKeyReused, OrderNotFound
from application.identity import Caller
from application.refund_keys import RefundKey, RefundKeys, fingerprint_of, refund_id_for
from application.refunds import RefundAccepted, RefundRequest, RequestRefund
from application.stripe_events import decode_stripe_event
from domain.errors import InvalidRefundAmount, PaymentNotRefundable, RefundExceedsRefundable
from domain.lifecycle import PaymentStatus
from domain.money import Money
from domain.order import OrderLine
from infrastructure.refunds.keys_for_store import refund_keys_for
from interfaces.composition import bootstrap
from tests.application.conftest import AUDITOR, BUYER, World
from tests.fakes import InMemoryRefundKeys, an_order
from tests.service_graph import settings_for_tests
from tests.stripe_payloads import checkout_event, encode

ADMIN = Caller("admin_1", "ops@example.com", role="admin")
TOTAL = Money(20498, "usd")


class Desk:
    """The use case as bootstrap builds it, over the world's store and in-memory keys."""

    def __init__(self, world: World, keys: RefundKeys | None = None) -> None:
        self.world = world
        self.keys = keys or InMemoryRefundKeys()
        graph = bootstrap(
            settings_for_tests(),
            ledger=world.ledger,
            orders=world.orders,
            checkout=world.stripe,
            status_view=world.view,
            clock=world.clock,
            refund_keys=self.keys,
            workers=[],
        )
        self.use_case: RequestRefund = graph.request_refund

    async def refund(
        self,
        key: str,
        order_id: str = "ord_1",
        amount: str | None = None,
        reason: str | None = None,
        caller: Caller = ADMIN,
    ) -> RefundAccepted:
        major = None if amount is None else Decimal(amount)
        return await self.use_case(caller, key, RefundRequest(order_id, major, reason))

    async def pay(self, order_id: str = "ord_1", amount: Money = TOTAL) -> None:
        link = await self.world.create_session()(BUYER, order_id)
        paid = checkout_event(
            "checkout.session.completed",
            order_id,
            link.session_id,
            amount_total=amount.minor,
            currency=amount.currency,
            payment_intent=f"pi_{order_id}",
        )
        await self.world.apply()(decode_stripe_event(encode(paid)))


@pytest.fixture
def desk(world: World) -> Desk:
    return Desk(world)


async def test_a_partial_refund_then_the_rest(desk: Desk) -> None:
    await desk.pay()
    first = await desk.refund("key-1", amount="50.00", reason="requested_by_customer")
    assert first == RefundAccepted(refund_id_for("key-1"), "ord_1", Money(5000, "usd"))
    rest = await desk.refund("key-2")
    assert rest.amount == Money(15498, "usd")
    payment = desk.world.payment("ord_1")
    assert payment.refundable == Money(0, "usd")
    assert payment.refund(first.refund_id) is not None
    assert payment.status is PaymentStatus.PARTIALLY_REFUNDED  # until Stripe says succeeded


async def test_the_history_says_which_admin_ordered_each_refund(desk: Desk) -> None:
    await desk.pay()
    other_admin = Caller("admin_2", "ops2@example.com", role="admin")
    first = await desk.refund("key-1", amount="50.00")
    await desk.refund("key-1", amount="50.00", caller=other_admin)  # a replay: still admin_1's
    second = await desk.refund("key-2", amount="10.00", caller=other_admin)

    history = await desk.world.history()(AUDITOR, "ord_1")

    ordered = [e.data for e in history if e.type == "RefundOrdered"]
    assert [(o["refund_id"], o["ordered_by"]) for o in ordered] == [
        (first.refund_id, "admin_1"),
        (second.refund_id, "admin_2"),
    ]
    refund = desk.world.payment("ord_1").refund(first.refund_id)
    assert refund is not None and refund.ordered_by == "admin_1"


async def test_the_same_key_and_body_again_answers_the_same_and_refunds_nothing_more(
    desk: Desk,
) -> None:
    await desk.pay()
    first = await desk.refund("key-1", amount="50")
    version = desk.world.payment("ord_1").version
    # 50, 50.0 and 50.00 are one request.
    assert await desk.refund("key-1", amount="50.00") == first
    assert await desk.refund("key-1", amount="50.0") == first
    assert desk.world.payment("ord_1").version == version
    assert desk.world.payment("ord_1").refundable == Money(15498, "usd")


async def test_a_replay_of_refund_everything_answers_what_it_refunded(desk: Desk) -> None:
    await desk.pay()
    everything = await desk.refund("key-1")
    assert everything.amount == TOTAL
    assert await desk.refund("key-1") == everything  # nothing is left, yet no 400


async def test_the_same_key_with_another_body_is_refused(desk: Desk) -> None:
    desk.world.orders.add(an_order("ord_2", "user_1"))
    await desk.pay()
    await desk.pay("ord_2")
    await desk.refund("key-1", amount="50")
    for other in (
        {"amount": "60"},
        {"amount": None},
        {"amount": "50", "reason": "duplicate"},
        {"amount": "50", "order_id": "ord_2"},
        {"amount": "50", "order_id": "ord_missing"},
    ):
        with pytest.raises(IdempotencyKeyReused):
            await desk.refund("key-1", **other)
    assert desk.world.payment("ord_1").refundable == Money(15498, "usd")
    assert desk.world.payment("ord_2").refundable == TOTAL


async def test_an_over_refund_is_refused_and_keeps_no_key(desk: Desk) -> None:
    await desk.pay()
    with pytest.raises(RefundExceedsRefundable):
        await desk.refund("key-1", amount="204.99")
    assert desk.keys.find("key-1") is None
    # Refused requests are not remembered (as at Stripe): the corrected one may use the key.
    assert (await desk.refund("key-1", amount="204.98")).amount == TOTAL
    with pytest.raises(RefundExceedsRefundable):
        await desk.refund("key-2", amount="0.01")


async def test_only_paid_payments_are_refundable(desk: Desk) -> None:
    await desk.world.create_session()(BUYER, "ord_1")
    with pytest.raises(PaymentNotRefundable):
        await desk.refund("key-1")
    with pytest.raises(OrderNotFound):
        await desk.refund("key-2", order_id="ord_missing")


async def test_only_an_admin_may_refund(desk: Desk) -> None:
    await desk.pay()
    for caller in (BUYER, AUDITOR):
        with pytest.raises(AdminRoleRequired):
            await desk.refund("key-1", caller=caller)
    assert desk.world.payment("ord_1").refundable == TOTAL


async def test_an_amount_finer_than_the_currency_is_refused(desk: Desk) -> None:
    yen = (OrderLine("prod_a", "Tea", 1, Money(1500, "jpy")),)
    desk.world.orders.add(an_order("ord_jpy", "user_1", lines=yen, currency="jpy"))
    await desk.pay()
    await desk.pay("ord_jpy", Money(1500, "jpy"))
    with pytest.raises(InvalidRefundAmount, match="more decimals than USD"):
        await desk.refund("key-1", amount="10.001")
    with pytest.raises(InvalidRefundAmount, match="more decimals than JPY"):
        await desk.refund("key-2", order_id="ord_jpy", amount="100.5")
    assert (await desk.refund("key-3", order_id="ord_jpy", amount="100")).amount == Money(
        100, "jpy"
    )


async def test_a_key_stored_before_a_crash_records_its_refund_on_the_retry(desk: Desk) -> None:
    await desk.pay()
    fingerprint = fingerprint_of("ord_1", 5000, None)
    crashed = RefundKey(
        "key-1", fingerprint, "ord_1", refund_id_for("key-1"), desk.world.clock.now()
    )
    desk.keys.claim(crashed)  # the first attempt stored its key, then died before saving
    accepted = await desk.refund("key-1", amount="50")
    assert accepted.refund_id == crashed.refund_id
    assert desk.world.payment("ord_1").refundable == Money(15498, "usd")


async def test_two_requests_with_one_key_at_once_record_one_refund(desk: Desk) -> None:
    await desk.pay()
    answers = await asyncio.gather(*(desk.refund("key-1", amount="50") for _ in range(4)))
    assert len(set(answers)) == 1
    assert desk.world.payment("ord_1").refundable == Money(15498, "usd")


async def test_concurrent_refunds_never_refund_more_than_was_paid(desk: Desk) -> None:
    await desk.pay()
    answers = await asyncio.gather(
        *(desk.refund(f"key-{n}", amount="150") for n in range(3)), return_exceptions=True
    )
    granted = [answer for answer in answers if isinstance(answer, RefundAccepted)]
    refused = [answer for answer in answers if isinstance(answer, RefundExceedsRefundable)]
    assert (len(granted), len(refused)) == (1, 2)
    assert desk.world.payment("ord_1").refundable == Money(5498, "usd")


async def test_one_key_at_once_records_one_refund_with_the_stores_own_key_table(
    world: World,
) -> None:
    desk = Desk(world, refund_keys_for(world.ledger))
    await desk.pay()
    answers = await asyncio.gather(*(desk.refund("key-1", amount="50") for _ in range(4)))
    assert len(set(answers)) == 1
    bodies = await asyncio.gather(
        desk.refund("key-2", amount="10"), desk.refund("key-2", amount="20"), return_exceptions=True
    )
    assert sorted(type(body).__name__ for body in bodies) == [
        "IdempotencyKeyReused",
        "RefundAccepted",
    ]
    payment = desk.world.payment("ord_1")
    assert len(payment.refunds) == 2
