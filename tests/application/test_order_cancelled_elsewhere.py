"""Money for an order that can no longer be confirmed (issue 11 item 3).

The order service refuses CONFIRMED (a 4xx) once the order is no longer PENDING. If it
was cancelled elsewhere, the money is for a cancelled order: it is refunded, the payment
ends REFUNDED, and an alert says so. Any other refusal stays parked with an alert.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import msgspec
import pytest

from application.errors import OrderServiceUnavailable, ServiceRejected
from application.fulfilment import EffectsFailed, SettlePayment
from application.stripe_events import decode_stripe_event
from domain.lifecycle import PaymentStatus
from domain.money import Money
from domain.order import OrderSnapshot, OrderStatus
from domain.payment import payment_id_for
from tests.application.conftest import BUYER, World
from tests.fakes import FakeOrderDirectory, an_order
from tests.stripe_payloads import checkout_event, encode, refund_event

ORDER = "ord_1"


class Shelves:
    """The inventory service, structurally (its port is being renamed): takes every release."""

    def __init__(self) -> None:
        self.releases: list[tuple[str, str, int]] = []

    async def release(self, order_id: str, product_id: str, quantity: int) -> None:
        self.releases.append((order_id, product_id, quantity))


@dataclass
class ShopLikeOrders(FakeOrderDirectory):
    """Moves a PENDING order once; any other change is refused with a 409, as the shop does."""

    reads_down: bool = False

    async def set_status(self, order_id: str, status: OrderStatus) -> None:
        order = self.orders[order_id]
        if order.status == status:
            return
        if order.status != OrderStatus.PENDING:
            raise ServiceRejected(
                f"PATCH /internal/orders/{order_id}/status: HTTP 409 "
                f"Cannot change order status from {order.status} to {status}"
            )
        self.orders[order_id] = msgspec.structs.replace(order, status=status)
        await super().set_status(order_id, status)

    async def get(self, order_id: str) -> OrderSnapshot:
        if self.reads_down:
            raise OrderServiceUnavailable("order service down")
        return await super().get(order_id)

    def changed_elsewhere(self, order_id: str, status: str) -> None:
        self.orders[order_id] = msgspec.structs.replace(self.orders[order_id], status=status)


@pytest.fixture
async def paid(world: World) -> World:
    """An order paid at Stripe, whose confirmation is still owed."""
    orders = ShopLikeOrders()
    orders.add(an_order(ORDER, "user_1"))
    world.orders = orders
    session_id = (await world.create_session()(BUYER, ORDER)).session_id
    paid = checkout_event("checkout.session.completed", ORDER, session_id, payment_intent="pi_1")
    await world.apply()(decode_stripe_event(encode(paid)))
    return world


def settle(world: World) -> SettlePayment:
    return SettlePayment(world.ledger, world.orders, Shelves(), world.stripe)


def shop(world: World) -> ShopLikeOrders:
    assert isinstance(world.orders, ShopLikeOrders)
    return world.orders


def recorded(world: World) -> list[str]:
    return [type(e).__name__ for e in world.ledger.history(payment_id_for(ORDER))]


async def test_money_for_an_order_cancelled_elsewhere_is_refunded(
    paid: World, caplog: pytest.LogCaptureFixture
) -> None:
    shop(paid).changed_elsewhere(ORDER, OrderStatus.CANCELLED)

    with caplog.at_level(logging.INFO):
        await settle(paid)(payment_id_for(ORDER))

    payment = paid.payment(ORDER)
    assert payment.status is PaymentStatus.REFUNDED
    assert paid.stripe.refunds == [("pi_1", Money(20498, "usd"), "refund:pi_1")]
    assert "OrderConfirmed" not in recorded(paid)
    assert recorded(paid)[-2:] == ["OrderFoundCancelled", "Refunded"]
    assert payment.pending_effects() == []
    assert shop(paid).orders[ORDER].status == OrderStatus.CANCELLED
    alerts = [r for r in caplog.records if getattr(r, "alert", False)]
    assert [getattr(r, "orderId", None) for r in alerts] == [ORDER]


async def test_a_refund_for_an_order_cancelled_elsewhere_that_fails_stays_owed(
    paid: World,
) -> None:
    shop(paid).changed_elsewhere(ORDER, OrderStatus.CANCELLED)
    paid.stripe.refund_status = "pending"
    await settle(paid)(payment_id_for(ORDER))
    assert (await paid.status()(BUYER, ORDER)).refund_owed is None  # at Stripe, on its way

    failed = refund_event(
        "refund.failed", "re_1", 20498, "failed", metadata={"orderId": ORDER, "refundId": "owed"}
    )
    await paid.apply()(decode_stripe_event(encode(failed)))

    report = await paid.status()(BUYER, ORDER)
    assert (report.status, report.refunded_amount) == ("SUCCESS", None)
    assert report.refund_owed == Money(20498, "usd")  # SUCCESS, yet the money is owed back
    assert await settle(paid)(payment_id_for(ORDER)) == 0  # not retried: a person refunds it


async def test_settling_again_refunds_nothing_more(paid: World) -> None:
    shop(paid).changed_elsewhere(ORDER, OrderStatus.CANCELLED)
    await settle(paid)(payment_id_for(ORDER))
    version = paid.payment(ORDER).version

    assert await settle(paid)(payment_id_for(ORDER)) == 0

    assert len(paid.stripe.refunds) == 1 and paid.payment(ORDER).version == version


@pytest.mark.parametrize("status", [OrderStatus.PENDING, "SHIPPED"])
async def test_any_other_refusal_stays_parked_and_records_nothing(
    paid: World, status: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop(paid).changed_elsewhere(ORDER, status)
    if status == OrderStatus.PENDING:  # still PENDING, yet refused (a 403, a bad token…)

        async def refuse(order_id: str, status: OrderStatus) -> None:
            raise ServiceRejected("PATCH /internal/orders/ord_1/status: HTTP 403")

        monkeypatch.setattr(shop(paid), "set_status", refuse)
    version = paid.payment(ORDER).version

    with pytest.raises(EffectsFailed) as failed:
        await settle(paid)(payment_id_for(ORDER))

    assert failed.value.refused
    assert paid.payment(ORDER).version == version
    assert paid.stripe.refunds == []


async def test_the_order_unreadable_after_a_refusal_is_tried_again_later(paid: World) -> None:
    shop(paid).changed_elsewhere(ORDER, OrderStatus.CANCELLED)
    shop(paid).reads_down = True

    with pytest.raises(EffectsFailed) as failed:
        await settle(paid)(payment_id_for(ORDER))
    assert not failed.value.refused  # a failure that passes: retried on its own schedule
    shop(paid).reads_down = False
    await settle(paid)(payment_id_for(ORDER))

    assert paid.payment(ORDER).status is PaymentStatus.REFUNDED


async def test_an_order_confirmed_elsewhere_is_confirmed_for_us_too(paid: World) -> None:
    """Repeating CONFIRMED is harmless at the order service (DESIGN.md): no refusal, no refund."""
    shop(paid).changed_elsewhere(ORDER, OrderStatus.CONFIRMED)
    await settle(paid)(payment_id_for(ORDER))
    assert paid.payment(ORDER).status is PaymentStatus.SUCCESS
    assert paid.stripe.refunds == []
