"""The real app over the graph `bootstrap` builds with the fakes of tests/fakes.py, driven
by Litestar's AsyncTestClient."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from litestar.testing import AsyncTestClient

from application.ledger import PaymentLedger
from infrastructure.event_store.store import event_store_env
from interfaces.app import create_app
from interfaces.composition import ServiceGraph, bootstrap
from tests.fakes import (
    FakeCheckoutGateway,
    FakeOrderDirectory,
    FixedClock,
    InMemoryStatusView,
    an_order,
)
from tests.service_graph import JWT_SECRET, OLD_WEBHOOK_SECRET, WEBHOOK_SECRET, settings_for_tests
from tests.stripe_payloads import encode, sign

__all__ = ["JWT_SECRET", "OLD_WEBHOOK_SECRET", "WEBHOOK_SECRET"]  # as the tests import them


def token_for(
    user_id: str = "user_1",
    *,
    claim: str = "userId",
    secret: str = JWT_SECRET,
    expires_in: int = 3600,
    **claims: Any,
) -> str:
    payload = {claim: user_id, "email": f"{user_id}@example.com", **claims}
    payload["exp"] = int(time.time()) + expires_in
    return jwt.encode(payload, secret, algorithm="HS256")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def as_user(user_id: str = "user_1", **claims: Any) -> dict[str, str]:
    return bearer(token_for(user_id, **claims))


@dataclass
class Api:
    """The app under test and the fakes behind its ports."""

    client: AsyncTestClient[Any]
    graph: ServiceGraph
    orders: FakeOrderDirectory
    checkout: FakeCheckoutGateway
    view: InMemoryStatusView
    ledger: PaymentLedger

    async def webhook(
        self, payload: dict[str, Any], secret: str = WEBHOOK_SECRET, path: str = "/webhook"
    ) -> Any:
        body = encode(payload)
        headers = {"Stripe-Signature": sign(body, secret), "Content-Type": "application/json"}
        return await self.client.post(path, content=body, headers=headers)

    async def open_checkout(self, order_id: str = "ord_1", user_id: str = "user_1") -> str:
        self.orders.add(an_order(order_id, user_id))
        response = await self.client.post(
            "/payments/create-session", json={"orderId": order_id}, headers=as_user(user_id)
        )
        assert response.status_code == 200, response.text
        session_id: str = response.json()["sessionId"]
        return session_id


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[PaymentLedger]:
    store = PaymentLedger(event_store_env(f"sqlite:///{tmp_path / 'payments.db'}"))
    yield store
    store.close()


@asynccontextmanager
async def api_on(ledger: PaymentLedger, **app_options: Any) -> AsyncIterator[Api]:
    """The app over fakes and `ledger`; `app_options` go to `create_app`."""
    orders, checkout, view = FakeOrderDirectory(), FakeCheckoutGateway(), InMemoryStatusView()
    graph = bootstrap(
        settings_for_tests(),
        ledger=ledger,
        orders=orders,
        checkout=checkout,
        status_view=view,
        clock=FixedClock(),
        workers=[],  # the API alone: what runs beside it has tests of its own
    )
    async with AsyncTestClient(create_app(graph, **app_options)) as client:
        yield Api(client, graph, orders, checkout, view, ledger)


@pytest.fixture
async def api(ledger: PaymentLedger) -> AsyncIterator[Api]:
    async with api_on(ledger) as api:
        yield api
