"""`payments serve --http-only`: the API alone, its background work left to `payments worker`."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.interfaces.test_serve import clean_environment, free_port, payments, wait_until_healthy

pytestmark = pytest.mark.e2e
QUEUE_TABLE = "payment_effects_due"


@contextmanager
def serving(tmp_path: Path, *flags: str) -> Iterator[str]:
    port = free_port()
    env = clean_environment(
        JWT_SECRET="serve-test-jwt-secret-of-a-decent-length",
        STRIPE_WEBHOOK_SECRET="whsec_serve_test",
        EVENT_STORE_URL=f"sqlite:///{tmp_path / 'payments.db'}",
        PORT=str(port),
    )
    argv = payments("serve", "--host", "127.0.0.1", *flags)
    process = subprocess.Popen(
        argv, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)


def tables(store: Path) -> set[str]:
    with sqlite3.connect(store) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_http_only_runs_no_background_work(tmp_path: Path, server: str) -> None:
    with serving(tmp_path, "--server", server, "--http-only") as base:
        assert httpx.get(f"{base}/ready").status_code == 200
        assert QUEUE_TABLE not in tables(tmp_path / "payments.db")  # no queue: no workers


def test_by_default_the_api_process_drains_the_queue_too(tmp_path: Path) -> None:
    with serving(tmp_path) as base:
        assert httpx.get(f"{base}/health").status_code == 200
        assert QUEUE_TABLE in tables(tmp_path / "payments.db")
