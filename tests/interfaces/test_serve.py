"""`payments serve` as a real process: starts with only the two secrets, refuses bad settings."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.fixtures.shop import KEYBOARD, RunningShop

pytestmark = pytest.mark.e2e

EVERY_ROUTE = {
    "/payments/create-session",
    "/create-session",
    "/payments/status/{orderId}",
    "/status/{orderId}",
    "/payments/webhook",
    "/webhook",
    "/health",
    "/ready",
}
SERVICE_SETTINGS = (
    "PORT",
    "EVENT_STORE_URL",
    "MONGODB_URI",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "ORDER_SERVICE_URL",
    "INVENTORY_SERVICE_URL",
    "INTERNAL_SERVICE_TOKEN",
    "JWT_SECRET",
    "FRONTEND_URL",
    "CHECKOUT_EXPIRES_MINUTES",
    "PAYMENT_FAILED_POLICY",
    "LOG_LEVEL",
    "RECONCILE_INTERVAL_SECONDS",
    "DELAYED_PAYMENT_WAIT_HOURS",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_environment(**settings: str) -> dict[str, str]:
    """The test process's environment without any service setting, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_SETTINGS}
    return {**env, **settings}


def payments(*args: str) -> list[str]:
    return [sys.executable, "-m", "interfaces.cli.main", *args]


def wait_until_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("serve did not become healthy")


@contextmanager
def serve(tmp_path: Path, server: str, **settings: str) -> Iterator[str]:
    """`payments serve` with the two secrets, a temp store, a free port and `settings`."""
    port = free_port()
    defaults = {
        "JWT_SECRET": "serve-test-jwt-secret-of-a-decent-length",
        "STRIPE_WEBHOOK_SECRET": "whsec_serve_test",
        "EVENT_STORE_URL": f"sqlite:///{tmp_path / 'payments.db'}",
        "PORT": str(port),
    }
    env = clean_environment(**(defaults | settings))
    process = subprocess.Popen(
        payments("serve", "--host", "127.0.0.1", "--server", server),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(params=["uvicorn", "granian"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with serve(tmp_path, request.param) as base:
        yield base


def test_starts_with_only_the_two_secrets(served: str) -> None:
    assert httpx.get(f"{served}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{served}/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"event store": "ok", "MongoDB": "not configured"}
    paths = set(httpx.get(f"{served}/schema/openapi.json").json()["paths"])
    assert paths >= EVERY_ROUTE


def test_without_a_stripe_key_create_session_is_500_and_the_rest_works(
    shop: RunningShop, tmp_path: Path
) -> None:
    token = shop.login()
    order = shop.create_order(token, [(KEYBOARD, 1)])
    with serve(tmp_path, "uvicorn", **shop.service_env()) as base:
        headers = {"Authorization": f"Bearer {token}"}
        response = httpx.post(
            f"{base}/payments/create-session", json={"orderId": order["_id"]}, headers=headers
        )
        assert (response.status_code, response.json()) == (
            500,
            {"error": "Failed to create payment session"},
        )
        status = httpx.get(f"{base}/status/{order['_id']}", headers=headers)
        assert (status.status_code, status.json()) == (404, {"error": "Order not found"})


def test_streamed_webhook_over_256_kib_is_413(served: str) -> None:
    def chunks() -> Iterator[bytes]:  # chunked: no Content-Length announces the size
        for _ in range(64):
            yield b"x" * 8192

    response = httpx.post(
        f"{served}/webhook", content=chunks(), headers={"Stripe-Signature": "t=1,v1=00"}
    )
    assert (response.status_code, response.json()) == (413, {"error": "Payload too large"})


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"STRIPE_WEBHOOK_SECRET": "whsec_x"}, "JWT_SECRET"),
        ({"JWT_SECRET": "x" * 40}, "STRIPE_WEBHOOK_SECRET"),
        ({"JWT_SECRET": "change-me", "STRIPE_WEBHOOK_SECRET": "whsec_w"}, "JWT_SECRET"),
        (
            {
                "JWT_SECRET": "x" * 40,
                "STRIPE_WEBHOOK_SECRET": "whsec_w",
                "CHECKOUT_EXPIRES_MINUTES": "5",
            },
            "CHECKOUT_EXPIRES_MINUTES",
        ),
        ({"JWT_SECRET": "x" * 40, "STRIPE_WEBHOOK_SECRET": "whsec_w", "PORT": "eighty"}, "PORT"),
        (
            {
                "JWT_SECRET": "x" * 40,
                "STRIPE_WEBHOOK_SECRET": "whsec_w",
                "EVENT_STORE_URL": "mysql://h/db",
            },
            "EVENT_STORE_URL",
        ),
        (
            {
                "JWT_SECRET": "x" * 40,
                "STRIPE_WEBHOOK_SECRET": "whsec_w",
                "EVENT_STORE_URL": "postgresql://pay@127.0.0.1/test?sslmode=verify-full",
            },
            "sslmode",
        ),
        *[
            ({"JWT_SECRET": "x" * 40, "STRIPE_WEBHOOK_SECRET": "whsec_w", name: value}, name)
            for name, value in [
                ("PORT", "\u00b2"),  # isdigit() is true, int() fails
                ("PORT", "\uff18\uff10\uff18\uff10"),  # full-width 8080
                ("CHECKOUT_EXPIRES_MINUTES", "\u0663\u0660"),  # Arabic-Indic 30
                ("STRIPE_WEBHOOK_SECRET", " , "),
                ("STRIPE_WEBHOOK_SECRET", "nope"),
                ("ORDER_SERVICE_URL", "http://:80"),
                ("FRONTEND_URL", "https://shop.example:99999"),
                ("MONGODB_URI", "mongodb://:27017/paymentdb"),
            ]
        ],
    ],
)
def test_a_bad_setting_stops_start_up_with_one_line_naming_it(
    tmp_path: Path, settings: dict[str, str], named: str
) -> None:
    done = subprocess.run(
        payments("serve"),
        env=clean_environment(**settings),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert named in lines[0]


def test_an_unreachable_postgres_stops_start_up_in_seconds_naming_host_port_and_why(
    tmp_path: Path,
) -> None:
    settings = {
        "JWT_SECRET": "x" * 40,
        "STRIPE_WEBHOOK_SECRET": "whsec_x",
        "EVENT_STORE_URL": "postgresql://pay:hunter2@127.0.0.1:9/payments",
    }
    started = time.monotonic()
    done = subprocess.run(
        payments("serve"),
        env=clean_environment(**settings),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert time.monotonic() - started < 10
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "127.0.0.1:9" in lines[0] and "refused" in lines[0].lower()
    assert "hunter2" not in done.stderr
