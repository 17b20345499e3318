"""The attack table's order-service rows (issue 13): a neighbour that lies, bloats or stalls.

Create-session through the real app and the real `HttpOrderDirectory`, against the
reference shop's fault injection (or a loopback stand-in, for a body the shop
cannot send). Whatever the order service answers, the caller gets a clear answer
in bounded time, Stripe is never asked, and nothing is recorded.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from application.ledger import PaymentLedger
from infrastructure.event_store.store import event_store_env
from infrastructure.neighbours.order_directory import HttpOrderDirectory
from interfaces.app import create_app
from interfaces.composition import bootstrap
from tests.fakes import FakeCheckoutGateway, FixedClock, InMemoryStatusView
from tests.fixtures.shop import CABLE, KEYBOARD, OTHER_USER, TEST_USER, USER_IDS, RunningShop
from tests.infrastructure.neighbour_stand_in import Reply, stand_in
from tests.infrastructure.shop_running import running_shop
from tests.interfaces.conftest import as_user
from tests.service_graph import settings_for_tests

TIMEOUT = 0.5
NOT_FOUND = (404, {"error": "Order not found"})
UNAVAILABLE = (503, {"error": "Order service unavailable"})
BUYER = USER_IDS[TEST_USER]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningShop]:
    yield from running_shop(tmp_path_factory)


@pytest.fixture(autouse=True)
def no_faults_left_over(shop: RunningShop) -> Iterator[None]:
    shop.clear_faults()
    yield
    shop.clear_faults()


class Checkout:
    """The app over a real order directory; Stripe and the status view are fakes."""

    def __init__(
        self, client: AsyncTestClient[Any], ledger: PaymentLedger, stripe: FakeCheckoutGateway
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.stripe = stripe

    async def create_session(self, order_id: str, user_id: str = BUYER) -> tuple[int, Any]:
        response = await self.client.post(
            "/payments/create-session", json={"orderId": order_id}, headers=as_user(user_id)
        )
        return response.status_code, response.json()


@asynccontextmanager
async def checkout_against(
    order_service_url: str, tmp_path: Path, internal_token: str | None = None
) -> AsyncIterator[Checkout]:
    ledger = PaymentLedger(event_store_env(f"sqlite:///{tmp_path / 'payments.db'}"))
    orders = HttpOrderDirectory(
        order_service_url, internal_token=internal_token, timeout_seconds=TIMEOUT
    )
    stripe = FakeCheckoutGateway()
    graph = bootstrap(
        settings_for_tests(), ledger=ledger, orders=orders, checkout=stripe,
        status_view=InMemoryStatusView(), clock=FixedClock(), workers=[],
    )  # fmt: skip
    # Closed by the app's lifespan, on the event loop its connections belong to; the
    # lifespan closes the ledger too.
    graph.closers.append(orders.aclose)
    async with AsyncTestClient(create_app(graph)) as client:
        yield Checkout(client, ledger, stripe)


@pytest.fixture
async def checkout(shop: RunningShop, tmp_path: Path) -> AsyncIterator[Checkout]:
    async with checkout_against(shop.url, tmp_path, shop.internal_token) as checkout:
        yield checkout


def assert_nothing_happened(checkout: Checkout, order_id: str) -> None:
    assert checkout.stripe.calls == 0
    assert checkout.ledger.find(order_id) is None


def pending_order(shop: RunningShop, email: str = TEST_USER) -> dict[str, Any]:
    return shop.create_order(shop.login(email), [(KEYBOARD, 1), (CABLE, 2)])


def answer_with(shop: RunningShop, document: dict[str, Any]) -> None:
    """The order service answers the next order read with this order document."""
    shop.set_fault("order_get", mode="reply", status=200, body=json.dumps({"order": document}))


async def test_the_genuine_order_opens_a_session(shop: RunningShop, checkout: Checkout) -> None:
    order = pending_order(shop)
    status, body = await checkout.create_session(order["_id"])
    assert status == 200, body
    assert checkout.stripe.calls == 1


async def test_another_users_order_is_not_found(shop: RunningShop, checkout: Checkout) -> None:
    theirs = pending_order(shop, OTHER_USER)
    assert await checkout.create_session(theirs["_id"]) == NOT_FOUND
    assert_nothing_happened(checkout, theirs["_id"])


async def test_an_answer_with_the_order_given_to_another_user_is_not_found(
    shop: RunningShop, checkout: Checkout
) -> None:
    mine = pending_order(shop)
    answer_with(shop, {**shop.order(mine["_id"]), "userId": USER_IDS[OTHER_USER]})
    assert await checkout.create_session(mine["_id"]) == NOT_FOUND
    assert_nothing_happened(checkout, mine["_id"])


async def test_an_answer_naming_another_users_order_is_refused(
    shop: RunningShop, checkout: Checkout
) -> None:
    mine = pending_order(shop)
    answer_with(shop, shop.order(pending_order(shop, OTHER_USER)["_id"]))
    assert await checkout.create_session(mine["_id"]) == UNAVAILABLE
    assert_nothing_happened(checkout, mine["_id"])


@pytest.mark.parametrize("where", ["price", "totalAmount", "both"])
async def test_a_negative_amount_is_refused(
    shop: RunningShop, checkout: Checkout, where: str
) -> None:
    mine = pending_order(shop)
    document = shop.order(mine["_id"])
    if where in ("price", "both"):
        document["items"][0]["price"] = -document["items"][0]["price"]
    if where in ("totalAmount", "both"):
        document["totalAmount"] = -document["totalAmount"]
    answer_with(shop, document)
    assert await checkout.create_session(mine["_id"]) == UNAVAILABLE
    assert_nothing_happened(checkout, mine["_id"])


@pytest.mark.parametrize("chunked", [False, True], ids=["announced length", "chunked"])
async def test_a_10_mib_order_is_refused(tmp_path: Path, chunked: bool) -> None:
    order_id = "64f000000000000000000042"
    huge_name = "x" * 10 * 1024 * 1024
    document = {
        "_id": order_id, "userId": BUYER, "status": "PENDING", "totalAmount": 9.99,
        "items": [{"productId": CABLE, "name": huge_name, "quantity": 1, "price": 9.99}],
    }  # fmt: skip
    reply = Reply(body=json.dumps({"order": document}).encode(), chunked=chunked)
    async with stand_in(reply) as server, checkout_against(server.url, tmp_path) as checkout:
        assert await checkout.create_session(order_id) == UNAVAILABLE
        assert_nothing_happened(checkout, order_id)


async def test_a_slow_order_service_costs_the_timeout_and_records_nothing(
    shop: RunningShop, checkout: Checkout
) -> None:
    mine = pending_order(shop)
    shop.set_fault("order_get", mode="delay", seconds=5, times=1)
    started = time.monotonic()
    assert await checkout.create_session(mine["_id"]) == UNAVAILABLE
    assert time.monotonic() - started < TIMEOUT + 1.5
    assert_nothing_happened(checkout, mine["_id"])
