"""`payments dev` as a real process tree on free ports, and a client's view of it.

`RunningDev` starts the command exactly as a developer would (only the ports
and the data dir differ), waits for its "is up" banner, and offers what the
e2e tests need: the gateway client, the sandbox's admin routes, the shop's
admin routes (stock, effects of internal calls) and the process tree.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from interfaces.dev_stack.plan import SANDBOX_STRIPE_KEY
from tests.fixtures.mongo import with_database

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0
WAIT = 30.0
PARTS = ("gateway", "service", "stripe", "mongo")
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def eventually(read: Callable[[], T], until: Callable[[T], bool], within: float = WAIT) -> T:
    """Poll `read` until `until(value)`; fail with the last value seen (bounded, never timed)."""
    deadline = time.monotonic() + within
    while True:
        value = read()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {within:.0f} s")
        time.sleep(0.2)


class RunningDev:
    """One `payments dev` process with its children."""

    def __init__(self, data_dir: Path, ports: dict[str, int] | None = None) -> None:
        self.data_dir = data_dir
        self.ports = ports or {
            name: free_port() for name in ("gateway", "service", "stripe", "mongo")
        }
        self.gateway_url = f"http://127.0.0.1:{self.ports['gateway']}"
        self.stripe_url = f"http://127.0.0.1:{self.ports['stripe']}"
        self.service_url = f"http://127.0.0.1:{self.ports['service']}"
        self.frontend_url = self.gateway_url  # FRONTEND_URL when the gateway is not on 3000
        self.output = data_dir.parent / f"{data_dir.name}-console-{uuid.uuid4().hex[:6]}.log"
        self.gateway = httpx.Client(base_url=self.gateway_url, timeout=15.0)
        self.process: subprocess.Popen[bytes] | None = None
        configured = os.environ.get("MONGODB_URI")  # a real server in CI: a database of our own
        self.mongodb_uri = configured and with_database(configured, f"e2e_{uuid.uuid4().hex[:8]}")

    def again(self) -> RunningDev:
        """Another `payments dev` on the same data dir, ports and database (a restart)."""
        again = RunningDev(self.data_dir, self.ports)
        again.mongodb_uri = self.mongodb_uri
        return again

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "interfaces.cli.main", "dev", "--data-dir",
                   str(self.data_dir)]  # fmt: skip
        for name, port in self.ports.items():
            command += [f"--{name}-port", str(port)]
        if self.mongodb_uri:
            command += ["--mongodb-uri", self.mongodb_uri]
        return command

    def start(self) -> RunningDev:
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                self.command(), cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        eventually(self._started, bool, within=START_TIMEOUT)
        return self

    def _started(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"payments dev exited:\n{self.console()}")
        return "payments dev is up" in self.console()

    def console(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def interrupt(self, timeout: float = 60.0) -> int:
        """Ctrl-C, as a developer would press it; the command's exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=timeout)

    def close(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.gateway.close()

    # -- a customer, through the gateway ------------------------------------------

    def login(self, email: str = "testuser@example.com") -> dict[str, str]:
        response = self.gateway.post(
            "/auth/login", json={"email": email, "password": "password123"}
        )
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def place_order(self, auth: dict[str, str], product_id: str, quantity: int) -> dict[str, Any]:
        response = self.gateway.post(
            "/orders", json={"items": [{"productId": product_id, "quantity": quantity}]},
            headers=auth,
        )  # fmt: skip
        assert response.status_code == 201, response.text
        order: dict[str, Any] = response.json()["order"]
        return order

    def create_session(self, auth: dict[str, str], order_id: str) -> dict[str, Any]:
        response = self.gateway.post(
            "/payments/create-session", json={"orderId": order_id}, headers=auth
        )
        assert response.status_code == 200, response.text
        session: dict[str, Any] = response.json()
        return session

    def order_status(self, auth: dict[str, str], order_id: str) -> str:
        response = self.gateway.get(f"/orders/{order_id}", headers=auth)
        response.raise_for_status()
        status: str = response.json()["order"]["status"]
        return status

    def payment(self, auth: dict[str, str], order_id: str) -> dict[str, Any]:
        response = self.gateway.get(f"/payments/status/{order_id}", headers=auth)
        if response.status_code != 200:
            return {"status": f"HTTP {response.status_code}"}
        payment: dict[str, Any] = response.json()
        return payment

    def history(self, auth: dict[str, str], order_id: str) -> list[dict[str, Any]]:
        response = self.gateway.get(f"/payments/history/{order_id}", headers=auth)
        response.raise_for_status()
        entries: list[dict[str, Any]] = response.json()["entries"]
        return entries

    # -- the shop's admin, through the gateway ------------------------------------

    def refund(self, auth: dict[str, str], key: str, body: dict[str, Any]) -> httpx.Response:
        """`POST /payments/refunds` with an `Idempotency-Key`, as a back office sends it."""
        headers = {**auth, "Idempotency-Key": key}
        return self.gateway.post("/payments/refunds", json=body, headers=headers)

    # -- behind the scenes: the shop's and the sandbox's admin routes ---------------

    def stock(self, product_id: str) -> int:
        response = self.gateway.get(f"/_shop/products/{product_id}")
        response.raise_for_status()
        stock: int = response.json()["product"]["stock"]
        return stock

    def effects(self, order_id: str) -> dict[str, Any]:
        """What the service's internal calls changed: confirmed/cancelled counts, released."""
        response = self.gateway.get("/_shop/calls", params={"orderId": order_id})
        response.raise_for_status()
        effects: dict[str, Any] = response.json()["effects"]
        return effects

    def stripe_refunds(self, payment_intent: str) -> list[dict[str, Any]]:
        """The refunds the Stripe sandbox made of a PaymentIntent (its `/v1` API)."""
        response = httpx.get(
            f"{self.stripe_url}/v1/refunds", params={"payment_intent": payment_intent},
            headers={"Authorization": f"Bearer {SANDBOX_STRIPE_KEY}"}, timeout=15.0,
        )  # fmt: skip
        response.raise_for_status()
        refunds: list[dict[str, Any]] = response.json()["data"]
        return refunds

    def advance_stripe_clock(self, seconds: float) -> dict[str, Any]:
        response = httpx.post(
            f"{self.stripe_url}/_sandbox/clock/advance", json={"seconds": seconds}, timeout=15.0
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result
