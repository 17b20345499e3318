"""A neighbour's answer costs a bounded amount of memory and time (issue 13's attack table).

An order service that answers 10 MiB, announced or chunked, is refused without
holding the body in memory; one that trickles its answer a byte at a time cannot
hold the call past its timeout, though every single read arrives in time.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from application.errors import InventoryServiceUnavailable, OrderServiceUnavailable
from infrastructure.neighbours.inventory import HttpInventory
from infrastructure.neighbours.order_directory import HttpOrderDirectory
from tests.infrastructure.neighbour_stand_in import Reply, stand_in

ORDER_ID = "64f000000000000000000001"
TEN_MIB = 10 * 1024 * 1024
TIMEOUT = 0.5


def order_body(order_id: str = ORDER_ID, padding: int = 0) -> bytes:
    order: dict[str, Any] = {
        "_id": order_id,
        "userId": "u1",
        "status": "PENDING",
        "items": [{"productId": "p1", "name": "Cable", "quantity": 1, "price": "9.99"}],
        "totalAmount": "9.99",
        "currency": "usd",
    }
    if padding:
        order["notes"] = "x" * padding
    return json.dumps({"order": order}).encode()


async def peak_bytes(call: Callable[[], Awaitable[object]]) -> tuple[int, BaseException | None]:
    """The most memory allocated at once while `call` runs, and what it raised."""
    tracemalloc.start()
    raised: BaseException | None = None
    try:
        await call()
    except Exception as error:
        raised = error
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak, raised


@pytest.mark.parametrize("chunked", [False, True], ids=["announced length", "chunked"])
async def test_a_10_mib_order_is_refused_without_holding_it_in_memory(chunked: bool) -> None:
    async with stand_in(Reply(body=order_body(padding=TEN_MIB), chunked=chunked)) as server:
        orders = HttpOrderDirectory(server.url, timeout_seconds=5)
        peak, raised = await peak_bytes(lambda: orders.get(ORDER_ID))
        await orders.aclose()

    assert isinstance(raised, OrderServiceUnavailable), raised
    assert peak < 3 * 1024 * 1024, f"{peak / 2**20:.1f} MiB held for a refused answer"


async def test_a_10_mib_answer_to_a_release_is_refused_too() -> None:
    async with stand_in(Reply(body=b'{"x": "' + b"y" * TEN_MIB + b'"}')) as server:
        inventory = HttpInventory(server.url, timeout_seconds=5)
        peak, raised = await peak_bytes(lambda: inventory.release(ORDER_ID, "p1", 1))
        await inventory.aclose()

    assert isinstance(raised, InventoryServiceUnavailable), raised
    assert peak < 3 * 1024 * 1024


async def test_an_order_with_a_long_but_sane_body_still_arrives() -> None:
    async with stand_in(Reply(body=order_body(padding=200 * 1024), chunked=True)) as server:
        orders = HttpOrderDirectory(server.url, timeout_seconds=5)
        order = await orders.get(ORDER_ID)
        await orders.aclose()

    assert order.order_id == ORDER_ID


async def test_an_answer_trickled_byte_by_byte_is_cut_at_the_timeout() -> None:
    # Each byte arrives well within the read timeout; the whole would take 30 s.
    trickle = Reply(body=order_body(), chunk=1, pause=TIMEOUT / 5)
    async with stand_in(trickle) as server:
        orders = HttpOrderDirectory(server.url, timeout_seconds=TIMEOUT)
        started = time.monotonic()
        with pytest.raises(OrderServiceUnavailable):
            await orders.get(ORDER_ID)
        took = time.monotonic() - started
        await orders.aclose()

    assert took < TIMEOUT + 1.0, f"held for {took:.1f} s with a {TIMEOUT} s timeout"
