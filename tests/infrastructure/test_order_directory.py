"""HttpOrderDirectory against the reference shop over real HTTP, faults included."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from application.errors import OrderNotFound, OrderServiceUnavailable, ServiceRejected
from domain.money import Money
from domain.order import OrderStatus
from infrastructure.neighbours.order_directory import HttpOrderDirectory
from tests.fixtures.shop import CABLE, HEADPHONES, RunningShop
from tests.infrastructure.shop_running import running_shop

NOTHING_LISTENS = "http://127.0.0.1:9"  # the discard port: never a server of ours


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningShop]:
    yield from running_shop(tmp_path_factory)


@pytest.fixture(autouse=True)
def no_faults_left_over(shop: RunningShop) -> Iterator[None]:
    """The shop is shared by the module: no test starts or ends with a fault armed."""
    shop.clear_faults()
    yield
    shop.clear_faults()


@pytest.fixture
async def orders(shop: RunningShop) -> AsyncIterator[HttpOrderDirectory]:
    directory = HttpOrderDirectory(shop.url, internal_token=shop.internal_token)
    yield directory
    await directory.aclose()


def usd_order(shop: RunningShop, **fields: Any) -> dict[str, Any]:
    items = [
        {"productId": HEADPHONES, "name": "Wireless Headphones", "quantity": 2, "price": "99.99"},
        {"productId": CABLE, "name": "USB-C Cable", "quantity": 1, "price": "9.99"},
    ]
    return shop.admin_order(items, **fields)


async def test_an_order_arrives_in_minor_units(
    shop: RunningShop, orders: HttpOrderDirectory
) -> None:
    placed = usd_order(shop)

    order = await orders.get(placed["_id"])

    assert (order.order_id, order.user_id, order.status) == (
        placed["_id"],
        placed["userId"],
        "PENDING",
    )
    assert [(line.product_id, line.quantity, line.unit_price) for line in order.lines] == [
        (HEADPHONES, 2, Money(9999, "usd")),
        (CABLE, 1, Money(999, "usd")),
    ]
    assert order.total == Money(20997, "usd")
    assert order.chargeable_lines() == order.lines


async def test_a_yen_order_is_not_multiplied_by_a_hundred(
    shop: RunningShop, orders: HttpOrderDirectory
) -> None:
    items = [{"productId": CABLE, "name": "Cable", "quantity": 3, "price": 1500}]
    placed = shop.admin_order(items, currency="jpy")

    order = await orders.get(placed["_id"])

    assert order.lines[0].unit_price == Money(1500, "jpy")
    assert order.total == Money(4500, "jpy")


async def test_an_unknown_order_is_not_found(orders: HttpOrderDirectory) -> None:
    with pytest.raises(OrderNotFound):
        await orders.get("64f0000000000000000000ff")


async def test_an_order_id_cannot_reach_another_route(
    shop: RunningShop, orders: HttpOrderDirectory
) -> None:
    placed = usd_order(shop)

    with pytest.raises(OrderNotFound):
        await orders.get(f"../orders/{placed['_id']}")


@pytest.mark.parametrize("status", [500, 503, 302])
async def test_a_failing_order_service_is_unavailable(
    shop: RunningShop, orders: HttpOrderDirectory, status: int
) -> None:
    placed = usd_order(shop)
    shop.set_fault("order_get", status=status, times=1)

    with pytest.raises(OrderServiceUnavailable):
        await orders.get(placed["_id"])
    assert (await orders.get(placed["_id"])).order_id == placed["_id"]


async def test_a_slow_order_service_is_unavailable_not_a_hang(shop: RunningShop) -> None:
    placed = usd_order(shop)
    impatient = HttpOrderDirectory(
        shop.url, internal_token=shop.internal_token, timeout_seconds=0.3
    )
    shop.set_fault("order_get", mode="delay", seconds=3, times=1)

    with pytest.raises(OrderServiceUnavailable):
        await impatient.get(placed["_id"])

    await impatient.aclose()


async def test_an_order_service_that_is_not_running_is_unavailable() -> None:
    nobody = HttpOrderDirectory(NOTHING_LISTENS, timeout_seconds=1.0)

    with pytest.raises(OrderServiceUnavailable):
        await nobody.get("64f000000000000000000001")
    with pytest.raises(OrderServiceUnavailable):
        await nobody.set_status("64f000000000000000000001", OrderStatus.CONFIRMED)

    await nobody.aclose()


@pytest.mark.parametrize("variant", ["price", "quantity", "missing", "type", "json"])
async def test_a_garbled_order_is_a_typed_error_not_a_crash(
    shop: RunningShop, orders: HttpOrderDirectory, variant: str
) -> None:
    placed = usd_order(shop)
    shop.set_fault("order_get", mode="malformed", variant=variant, times=1)

    with pytest.raises(OrderServiceUnavailable):
        await orders.get(placed["_id"])


async def test_prices_finer_than_the_currency_allows_are_refused(
    shop: RunningShop, orders: HttpOrderDirectory
) -> None:
    items = [{"productId": CABLE, "name": "Cable", "quantity": 1, "price": "9.999"}]
    placed = shop.admin_order(items, totalAmount="9.999")

    with pytest.raises(OrderServiceUnavailable):
        await orders.get(placed["_id"])


async def test_a_wrong_internal_token_is_rejected_not_retried(shop: RunningShop) -> None:
    placed = usd_order(shop)
    impostor = HttpOrderDirectory(shop.url, internal_token="not-the-token")

    with pytest.raises(ServiceRejected):
        await impostor.get(placed["_id"])
    with pytest.raises(ServiceRejected):
        await impostor.set_status(placed["_id"], OrderStatus.CONFIRMED)

    await impostor.aclose()
    assert shop.order(placed["_id"])["status"] == "PENDING"


async def test_confirming_twice_changes_the_order_once(
    shop: RunningShop, orders: HttpOrderDirectory
) -> None:
    placed = usd_order(shop)

    await orders.set_status(placed["_id"], OrderStatus.CONFIRMED)
    await orders.set_status(placed["_id"], OrderStatus.CONFIRMED)

    assert shop.order(placed["_id"])["status"] == "CONFIRMED"
    assert shop.effects(placed["_id"])["confirmed"] == 1


async def test_reversing_a_confirmed_order_is_rejected(
    shop: RunningShop, orders: HttpOrderDirectory
) -> None:
    placed = usd_order(shop)
    await orders.set_status(placed["_id"], OrderStatus.CONFIRMED)

    with pytest.raises(ServiceRejected):
        await orders.set_status(placed["_id"], OrderStatus.CANCELLED)
    assert shop.order(placed["_id"])["status"] == "CONFIRMED"


async def test_a_status_change_that_fails_can_simply_be_sent_again(
    shop: RunningShop, orders: HttpOrderDirectory
) -> None:
    placed = usd_order(shop)
    shop.set_fault("order_status", status=500, times=1)

    with pytest.raises(OrderServiceUnavailable):
        await orders.set_status(placed["_id"], OrderStatus.CANCELLED)
    await orders.set_status(placed["_id"], OrderStatus.CANCELLED)

    assert shop.effects(placed["_id"])["cancelled"] == 1


DONE_REPLIES = [
    {"mode": "reply", "status": 200, "body": "{}"},
    {"mode": "reply", "status": 200, "body": ""},
    {"mode": "reply", "status": 204},
    {"mode": "reply", "status": 200, "body": '{"ok": true}'},
    {"mode": "reply", "status": 202, "body": "accepted"},
    {"mode": "malformed", "variant": "type", "apply": True},
    {"mode": "malformed", "variant": "json", "apply": True},
]


@pytest.mark.parametrize("reply", DONE_REPLIES)
async def test_any_2xx_is_done_whatever_its_body(
    shop: RunningShop,
    orders: HttpOrderDirectory,
    reply: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    placed = usd_order(shop)
    shop.set_fault("order_status", **reply)

    with caplog.at_level(logging.WARNING):
        await orders.set_status(placed["_id"], OrderStatus.CONFIRMED)

    assert shop.order(placed["_id"])["status"] == "CONFIRMED"
    assert len(shop.calls(placed["_id"], route="order_status")) == 1
    assert caplog.records == []  # a body in another shape says nothing against the change


async def test_a_reply_naming_another_order_is_a_warning_and_the_change_is_done(
    shop: RunningShop, orders: HttpOrderDirectory, caplog: pytest.LogCaptureFixture
) -> None:
    placed, other = usd_order(shop), usd_order(shop)
    shop.set_fault("order_status", mode="reply", body=json.dumps({"order": other}))

    with caplog.at_level(logging.WARNING):
        await orders.set_status(placed["_id"], OrderStatus.CONFIRMED)

    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert placed["_id"] in warning.getMessage() and other["_id"] in warning.getMessage()
    assert warning.__dict__["orderId"] == placed["_id"]
    assert shop.order(placed["_id"])["status"] == "CONFIRMED"
    assert len(shop.calls(placed["_id"], route="order_status")) == 1
