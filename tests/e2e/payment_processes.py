"""`payments worker` and `payments serve` as real subprocesses, with their JSON logs on file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.fixtures.shop import REPO_ROOT, RunningShop, free_port

WEBHOOK_SECRET = "whsec_test_processes"
SETTLED = "payment settled"  # one line per payment a worker settled, with its worker id


def service_env(shop: RunningShop, store_url: str, **extra: str) -> dict[str, str]:
    """The environment of a payment service process on this shop and event store.

    Stripe and MongoDB settings of the test run are left out: a test that wants the
    MongoDB status view passes `MONGODB_URI=` (e.g. the `mongo_database_uri` fixture)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "MONGODB_"))}
    return {
        **env,
        **shop.service_env(),
        "EVENT_STORE_URL": store_url,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PYTHONPATH": str(REPO_ROOT),
        "LOG_LEVEL": "INFO",
        **extra,
    }


class PaymentProcess:
    """One `payments <command>` process; `kill()` is a SIGKILL, as a crash would be."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.command = command
        self.env = env
        self.log_path = log_path
        self.url = ""  # set for `serve`
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> PaymentProcess:
        argv = [sys.executable, "-m", "interfaces.cli.main", *self.command]
        argv += ["--env-file", str(self.log_path.with_suffix(".env"))]  # none: env only
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                argv, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for text in self.log_path.read_text(errors="replace").splitlines():
            try:
                lines.append(json.loads(text))
            except ValueError:
                continue  # a traceback or a server banner
        return lines

    def has_logged(self, message: str) -> bool:
        return any(line.get("message") == message for line in self.log_lines())

    def settled(self) -> list[dict[str, Any]]:
        """The "payment settled" lines this process logged (paymentId, worker)."""
        return [line for line in self.log_lines() if line.get("message") == SETTLED]

    @property
    def pid(self) -> int:
        assert self._process is not None, "not started"
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def exit_status(self, within: float) -> int | None:
        """Waits up to `within` seconds for the process to end; its exit status, or None."""
        assert self._process is not None, "not started"
        try:
            return self._process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            return None

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def start_worker(env: dict[str, str], log_path: Path) -> PaymentProcess:
    return PaymentProcess(["worker"], env, log_path).start()


def start_service(env: dict[str, str], log_path: Path, port: int | None = None) -> PaymentProcess:
    """`payments serve` on a free port (or `port`), once `/health` answers."""
    port = port or free_port()
    service = PaymentProcess(["serve"], {**env, "PORT": str(port)}, log_path).start()
    service.url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and service.running:
        try:
            if httpx.get(f"{service.url}/health", timeout=1).status_code == 200:
                return service
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    service.kill()
    raise RuntimeError(f"payments serve did not start:\n{service.tail()}")


def wait_for(condition: Any, what: str, process: PaymentProcess | None = None) -> None:
    """Waits for something other processes do (a deadline, not a speed test)."""
    deadline = time.monotonic() + 60
    while not condition():
        if time.monotonic() > deadline:
            detail = f"\n{process.tail()}" if process is not None else ""
            raise AssertionError(f"never happened: {what}{detail}")
        time.sleep(0.2)
