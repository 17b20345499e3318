"""The whole loop over real HTTP: the service (real Stripe gateway, order client) on a port,
the Stripe sandbox forwarding its webhooks to it, the reference shop as order service.

A customer opens checkout through the API, pays on the sandbox's hosted page, and the
webhook the sandbox sends turns the payment to SUCCESS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from infrastructure.settings import Settings
from interfaces.app import create_app
from interfaces.composition import bootstrap
from tests.fixtures.shop import CABLE, RunningShop, free_port
from tests.fixtures.stripe_sandbox import RunningStripeSandbox, StripeSandboxFactory

FRONTEND = "http://shop.test"
WAIT_SECONDS = 20.0


class ServiceOnPort:
    """The payment service's real app under uvicorn, in a thread with its own event loop."""

    def __init__(self, settings: Settings) -> None:
        self.url = f"http://127.0.0.1:{settings.port}"
        config = uvicorn.Config(
            create_app(bootstrap(settings)),
            host="127.0.0.1",
            port=settings.port,
            log_level="warning",
            lifespan="on",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> ServiceOnPort:
        self._thread.start()
        deadline = time.monotonic() + WAIT_SECONDS
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("payment service did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@pytest.fixture
def service_port() -> int:
    return free_port()


Stack = tuple[ServiceOnPort, RunningShop, RunningStripeSandbox]


@pytest.fixture
def stack(
    tmp_path: Path,
    shop: RunningShop,
    stripe_sandbox_factory: StripeSandboxFactory,
    service_port: int,
) -> Iterator[Stack]:
    sandbox = stripe_sandbox_factory(forward_to=[f"http://127.0.0.1:{service_port}/webhook"])
    environ = {
        **shop.service_env(),
        **sandbox.service_env(),
        "PORT": str(service_port),
        "EVENT_STORE_URL": f"sqlite:///{tmp_path / 'payments.db'}",
        "FRONTEND_URL": FRONTEND,
    }
    settings = Settings.from_environment(environ, env_file=None)
    with ServiceOnPort(settings) as running:
        yield running, shop, sandbox


def wait_for_status(api: httpx.Client, order_id: str, wanted: str) -> dict[str, object]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        response = api.get(f"/payments/status/{order_id}")
        body: dict[str, object] = response.json()
        if body.get("status") == wanted or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_a_payment_on_the_hosted_page_turns_the_payment_to_success(stack: Stack) -> None:
    running, shop, sandbox = stack
    token = shop.login()
    order = shop.create_order(token, [(CABLE, 2)])
    api = httpx.Client(base_url=running.url, headers={"Authorization": f"Bearer {token}"})

    created = api.post("/payments/create-session", json={"orderId": order["_id"]})
    assert created.status_code == 200, created.text
    checkout_url = created.json()["checkoutUrl"]
    assert api.get(f"/payments/status/{order['_id']}").json()["status"] == "INITIATED"

    paid = httpx.post(checkout_url, data={"card_number": "4242 4242 4242 4242"})
    assert paid.status_code == 303
    assert paid.headers["location"].startswith(f"{FRONTEND}/orders/{order['_id']}?payment=success")

    status = wait_for_status(api, order["_id"], "SUCCESS")
    assert status["status"] == "SUCCESS"
    assert status["amount"] == 19.98 and status["currency"] == "usd"

    # Stripe delivers at least once: the same event again is accepted and changes nothing.
    completed = sandbox.wait_for_event("checkout.session.completed")
    sandbox.redeliver(completed["id"])
    assert wait_for_accepted_deliveries(sandbox, completed["id"], 2) == 2
    assert api.get(f"/payments/status/{order['_id']}").json()["status"] == "SUCCESS"
    api.close()


def wait_for_accepted_deliveries(sandbox: RunningStripeSandbox, event_id: str, wanted: int) -> int:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        attempts = sandbox.deliveries(event_id)["attempts"]
        accepted = sum(1 for a in attempts if a["status"] == 200)
        if accepted >= wanted or time.monotonic() > deadline:
            return accepted
        time.sleep(0.1)
