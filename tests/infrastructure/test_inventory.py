"""HttpInventory against the reference shop: stock comes back exactly once."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from application.errors import InventoryServiceUnavailable, ServiceRejected
from infrastructure.neighbours.inventory import HttpInventory
from tests.fixtures.shop import CABLE, HEADPHONES, KEYBOARD, RunningShop, ShopFactory
from tests.infrastructure.shop_running import running_shop


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningShop]:
    yield from running_shop(tmp_path_factory)


@pytest.fixture
async def inventory(shop: RunningShop) -> AsyncIterator[HttpInventory]:
    shop.clear_faults()
    client = HttpInventory(shop.url, internal_token=shop.internal_token)
    yield client
    await client.aclose()
    shop.clear_faults()


def reserved_order(shop: RunningShop, product: str = CABLE, quantity: int = 3) -> str:
    """A customer's order, which reserves `quantity` of `product`."""
    order = shop.create_order(shop.login(), [(product, quantity)])
    order_id: str = order["_id"]
    return order_id


async def test_releasing_twice_gives_the_stock_back_once(
    shop: RunningShop, inventory: HttpInventory
) -> None:
    before = shop.stock(CABLE)
    order_id = reserved_order(shop)
    assert shop.stock(CABLE) == before - 3

    await inventory.release(order_id, CABLE, 3)
    await inventory.release(order_id, CABLE, 3)

    assert shop.stock(CABLE) == before
    assert shop.effects(order_id)["released"] == {CABLE: 3}
    keys = {call["idempotencyKey"] for call in shop.calls(order_id, route="release")}
    assert keys == {f"release:{order_id}:{CABLE}"}


async def test_each_product_of_an_order_has_its_own_key(
    shop: RunningShop, inventory: HttpInventory
) -> None:
    order = shop.create_order(shop.login(), [(HEADPHONES, 1), (KEYBOARD, 2)])
    before = (shop.stock(HEADPHONES), shop.stock(KEYBOARD))

    await inventory.release(order["_id"], HEADPHONES, 1)
    await inventory.release(order["_id"], KEYBOARD, 2)

    assert (shop.stock(HEADPHONES), shop.stock(KEYBOARD)) == (before[0] + 1, before[1] + 2)


@pytest.mark.parametrize("apply", [False, True])
async def test_a_lost_answer_is_unavailable_and_the_retry_releases_once(
    shop: RunningShop, inventory: HttpInventory, apply: bool
) -> None:
    before = shop.stock(CABLE)
    order_id = reserved_order(shop)
    # apply=True: the shop did the work and then failed to answer.
    shop.set_fault("release", status=500, apply=apply, times=1)

    with pytest.raises(InventoryServiceUnavailable):
        await inventory.release(order_id, CABLE, 3)
    await inventory.release(order_id, CABLE, 3)

    assert shop.stock(CABLE) == before


async def test_a_timeout_is_unavailable_and_the_retry_releases_once(shop: RunningShop) -> None:
    before = shop.stock(CABLE)
    order_id = reserved_order(shop)
    impatient = HttpInventory(shop.url, internal_token=shop.internal_token, timeout_seconds=0.3)
    shop.set_fault("release", mode="delay", seconds=2, times=1)

    with pytest.raises(InventoryServiceUnavailable):
        await impatient.release(order_id, CABLE, 3)
    await impatient.release(order_id, CABLE, 3)

    await impatient.aclose()
    assert shop.stock(CABLE) == before


DONE_REPLIES = [
    {"mode": "reply", "status": 200, "body": "{}"},
    {"mode": "reply", "status": 200, "body": ""},
    {"mode": "reply", "status": 204},
    {"mode": "reply", "status": 200, "body": '{"ok": true}'},
    {"mode": "malformed", "variant": "price", "apply": True},
]


@pytest.mark.parametrize("reply", DONE_REPLIES)
async def test_any_2xx_is_done_whatever_its_body(
    shop: RunningShop,
    inventory: HttpInventory,
    reply: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = shop.stock(CABLE)
    order_id = reserved_order(shop)
    shop.set_fault("release", **reply)

    with caplog.at_level(logging.WARNING):
        await inventory.release(order_id, CABLE, 3)

    assert shop.stock(CABLE) == before
    assert len(shop.calls(order_id, route="release")) == 1
    assert caplog.records == []  # a body in another shape says nothing against the release


async def test_a_reply_about_another_order_is_a_warning_and_the_release_is_done(
    shop: RunningShop, inventory: HttpInventory, caplog: pytest.LogCaptureFixture
) -> None:
    before = shop.stock(CABLE)
    order_id, other_id = reserved_order(shop), reserved_order(shop)
    other = {"orderId": other_id, "productId": CABLE, "released": 3}
    shop.set_fault("release", mode="reply", body=json.dumps(other))

    with caplog.at_level(logging.WARNING):
        await inventory.release(order_id, CABLE, 3)

    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert order_id in warning.getMessage() and other_id in warning.getMessage()
    assert shop.stock(CABLE) == before - 3  # this order's units are back, the other's not
    assert len(shop.calls(order_id, route="release")) == 1


async def test_an_inventory_service_that_is_not_running_is_unavailable() -> None:
    # The discard port: nothing of ours ever listens there.
    nobody = HttpInventory("http://127.0.0.1:9", timeout_seconds=1.0)

    with pytest.raises(InventoryServiceUnavailable):
        await nobody.release("64f000000000000000000001", CABLE, 1)

    await nobody.aclose()


async def test_a_wrong_internal_token_is_rejected_and_nothing_is_released(
    shop: RunningShop,
) -> None:
    before = shop.stock(CABLE)
    order_id = reserved_order(shop)
    impostor = HttpInventory(shop.url, internal_token="not-the-token")

    with pytest.raises(ServiceRejected):
        await impostor.release(order_id, CABLE, 3)

    await impostor.aclose()
    assert shop.stock(CABLE) == before - 3


async def test_releasing_a_product_the_order_does_not_hold_is_rejected(
    shop: RunningShop, inventory: HttpInventory
) -> None:
    order_id = reserved_order(shop, CABLE)

    with pytest.raises(ServiceRejected):
        await inventory.release(order_id, HEADPHONES, 1)


async def test_a_shop_without_a_token_needs_only_the_service_header(
    shop_factory: ShopFactory,
) -> None:
    open_shop = shop_factory(internal_token=None)
    order_id = reserved_order(open_shop)
    before = open_shop.stock(CABLE)
    client = HttpInventory(open_shop.url)

    await client.release(order_id, CABLE, 3)

    await client.aclose()
    assert open_shop.stock(CABLE) == before + 3
