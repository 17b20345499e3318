"""uvicorn vs granian under `payments serve`, on the real endpoints (ADR 0005).

Run: .venv/bin/python bench/asgi_servers.py [REQUESTS] [CONNECTIONS] [ROUNDS]

For each server, starts `payments serve` as its own process on a loopback port
(SQLite store in a temp dir, one payment seeded), then drives it from this
process with a minimal keep-alive HTTP/1.1 client (lighter than httpx, so the
load generator takes less of the 2 cores from the server) and a bounded number
of requests per endpoint: GET /health, GET /payments/status/{id} with a JWT,
and a signed webhook (a duplicate delivery: verify, decode, read the store),
signed afresh for each batch so a long run never meets the 5-minute tolerance.

The servers are measured in ROUNDS rounds (3 by default), in alternating order
(uvicorn first, then granian first, ...), each time in a fresh process on a fresh
store, so neither always runs on a warmer or a cooler machine. Prints each
round's requests/s and latency percentiles, then per server and endpoint the
median requests/s and the spread (lowest to highest, and as a % of the median),
and the granian/uvicorn ratio of the medians.
"""

from __future__ import annotations

import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from application.ledger import PaymentLedger
from domain.payment import Payment
from infrastructure.event_store.store import event_store_env
from tests.fakes import an_order
from tests.stripe_payloads import checkout_event, encode, sign

JWT_SECRET = "bench-jwt-secret-long-enough-for-hs256-use"
WEBHOOK_SECRET = "whsec_bench"
ORDER_ID, SESSION_ID, EVENT_ID = "ord_bench", "cs_bench", "evt_bench_duplicate"
SERVERS = ("uvicorn", "granian")

Request = Callable[[], bytes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(store_url: str) -> None:
    with PaymentLedger(event_store_env(store_url)) as ledger:
        now = datetime.now(UTC)
        ledger.record(
            Payment.initiate(
                an_order(ORDER_ID, "user_1"),
                "b@example.com",
                SESSION_ID,
                "https://checkout.example/cs_bench",
                now + timedelta(minutes=30),
                now,
            )
        )


def start(server: str, store_url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {
        **os.environ,
        "JWT_SECRET": JWT_SECRET,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "EVENT_STORE_URL": store_url,
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "interfaces.cli.main",
            "serve",
            "--host",
            "127.0.0.1",
            "--server",
            server,
        ],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process, port
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{server} did not start")


def requests(port: int) -> dict[str, Request]:
    """Each endpoint's raw request, made anew for each batch (a fresh token, a fresh
    webhook signature: Stripe's signatures are good for 5 minutes)."""
    host = f"Host: 127.0.0.1:{port}\r\n"
    # The same event every time: after the first delivery, each is a duplicate.
    body = encode(
        checkout_event("checkout.session.completed", ORDER_ID, SESSION_ID, evt_id=EVENT_ID)
    )

    def health() -> bytes:
        return f"GET /health HTTP/1.1\r\n{host}\r\n".encode()

    def status() -> bytes:
        claims = {"userId": "user_1", "exp": int(time.time()) + 3600}
        token = jwt.encode(claims, JWT_SECRET, "HS256")
        return (
            f"GET /payments/status/{ORDER_ID} HTTP/1.1\r\n{host}"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()

    def webhook() -> bytes:
        return (
            f"POST /webhook HTTP/1.1\r\n{host}Content-Type: application/json\r\n"
            f"Stripe-Signature: {sign(body, WEBHOOK_SECRET)}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    return {
        "GET /health": health,
        "GET /payments/status (JWT)": status,
        "POST /webhook (signed)": webhook,
    }


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.lower().split(b"\r\n")
        if line.startswith(b"content-length:")
    )
    await reader.readexactly(length)
    return status


async def load(port: int, raw: bytes, total: int, connections: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    remaining = [total]

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while remaining[0] > 0:
            remaining[0] -= 1
            began = time.perf_counter()
            status = await exchange(reader, writer, raw)
            latencies.append(time.perf_counter() - began)
            if status != 200:
                raise SystemExit(f"unexpected status {status}")
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return total / (time.perf_counter() - started), sorted(latencies)


def percentile(sorted_values: list[float], p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))] * 1000


def measure(server: str, total: int, connections: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        store_url = f"sqlite:///{Path(tmp) / 'payments.db'}"
        seed(store_url)
        process, port = start(server, store_url, Path(tmp))
        try:
            results: dict[str, float] = {}
            for name, make in requests(port).items():
                asyncio.run(load(port, make(), min(200, total), connections))  # warm-up
                rate, latencies = asyncio.run(load(port, make(), total, connections))
                results[name] = rate
                print(
                    f"  {server:8} {name:28} {rate:8.0f} req/s   "
                    f"p50 {percentile(latencies, 0.5):6.1f} ms   "
                    f"p99 {percentile(latencies, 0.99):6.1f} ms"
                )
            return results
        finally:
            process.terminate()
            process.wait(timeout=15)


def round_order(index: int) -> tuple[str, ...]:
    """uvicorn first in rounds 1, 3, ...; granian first in rounds 2, 4, ..."""
    return SERVERS if index % 2 == 0 else tuple(reversed(SERVERS))


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    connections = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    print(f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{total} requests per endpoint, {connections} keep-alive connections, one worker, "
          f"{rounds} rounds in alternating order")  # fmt: skip
    rates: dict[str, dict[str, list[float]]] = {server: {} for server in SERVERS}
    for index in range(rounds):
        order = round_order(index)
        print(f"round {index + 1}: {' then '.join(order)}")
        for server in order:
            for name, rate in measure(server, total, connections).items():
                rates[server].setdefault(name, []).append(rate)
    print("median req/s (lowest-highest, spread as % of the median)")
    medians: dict[str, dict[str, float]] = {server: {} for server in SERVERS}
    for server in SERVERS:
        for name, values in rates[server].items():
            median = statistics.median(values)
            medians[server][name] = median
            spread = (max(values) - min(values)) / median * 100
            print(f"  {server:8} {name:28} {median:8.0f}   "
                  f"({min(values):.0f}-{max(values):.0f}, {spread:4.1f}%)")  # fmt: skip
    for name in medians["uvicorn"]:
        ratio = medians["granian"][name] / medians["uvicorn"][name]
        print(f"  granian/uvicorn {name:28} {ratio:5.2f}x (medians)")


if __name__ == "__main__":
    main()
