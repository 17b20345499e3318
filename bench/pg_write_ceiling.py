"""The write ceiling of eventsourcing's PostgreSQL recorder: events/s from 1, 2 and 4 writers.

Run: .venv/bin/python bench/pg_write_ceiling.py [SECONDS] [ROUNDS]

The recorder takes `LOCK TABLE … IN EXCLUSIVE MODE` on the events table in every
insert transaction, so that notification ids commit in the order they were taken
(the log followers rely on it): the inserts into one store are serialised, however
many processes write. Each writer here is a process of its own (no GIL between them)
writing into one fresh schema for SECONDS, one event per transaction, two ways:

- `payments`: new payments through `PaymentLedger.record` (`Payment.initiate`: the
  domain, the hash chain and the encoding, as create-session and each webhook do);
- `recorder`: ready-made 300-byte stored events straight into the recorder's
  `insert_events`, which leaves the client almost nothing to do.

For comparison only, both again with the table lock taken out of the recorder
(unsafe: a follower could skip an event that commits late), to tell the lock's
share of the ceiling from the disk's and the CPU's.

Prints, per writer count, events/s and the save latency (median, p99), the best of
ROUNDS rounds, then the machine and the PostgreSQL settings that decide it.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.persistence import StoredEvent

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.payment import Payment
from infrastructure.event_store.store import open_ledger
from tests.fakes import an_order
from tests.fixtures.event_store import drop_postgres_schema, fresh_postgres_url

WRITERS = (1, 2, 4)
MODES = ("payments", "recorder")
STATE = b"x" * 300
ADMIN = "host=127.0.0.1 port=5432 dbname=test user=postgres"
Result = tuple[int, list[float]]  # saves, latencies (s)


def writer(url: str, start_at: float, seconds: float, unlocked: bool, mode: str, out: Any) -> None:
    ledger = open_ledger(url)
    if unlocked:
        ledger.recorder.lock_table_statements = []  # type: ignore[attr-defined]
    prefix = uuid.uuid4().hex[:8]
    ledger.record(_payment(f"warm_{prefix}"))  # connection, prepared statements
    time.sleep(max(0.0, start_at - time.time()))
    latencies: list[float] = []
    n = 0
    while time.time() < start_at + seconds:
        if mode == "payments":
            payment = _payment(f"{prefix}_{n}")
            began = time.perf_counter()
            ledger.record(payment)
        else:
            stored = StoredEvent(uuid.uuid4(), 1, "bench:Written", STATE)
            began = time.perf_counter()
            ledger.recorder.insert_events([stored])
        latencies.append(time.perf_counter() - began)
        n += 1
    ledger.close()
    out.put((n, latencies))


def _payment(order_id: str) -> Payment:
    at = datetime.now(UTC)
    return Payment.initiate(
        an_order(order_id), "b@example.com", f"cs_{order_id}", "https://c.example/x",
        expires_at=at + timedelta(minutes=30), at=at,
    )  # fmt: skip


def measure(writers: int, seconds: float, unlocked: bool, mode: str) -> tuple[float, float, float]:
    """events/s, median and p99 save latency in ms, for `writers` processes on a fresh schema."""
    url = fresh_postgres_url()
    open_ledger(url).close()  # creates the tables once
    try:
        context = multiprocessing.get_context("spawn")
        out = context.Queue()
        start_at = time.time() + 3.0  # after every writer has imported and connected
        processes = [
            context.Process(target=writer, args=(url, start_at, seconds, unlocked, mode, out))
            for _ in range(writers)
        ]
        for process in processes:
            process.start()
        results: list[Result] = [out.get(timeout=seconds + 60) for _ in processes]
        for process in processes:
            process.join()
    finally:
        drop_postgres_schema(url)
    saves = sum(n for n, _ in results)
    latencies = sorted(x for _, lat in results for x in lat)
    p99 = latencies[int(len(latencies) * 0.99)]
    return saves / seconds, statistics.median(latencies) * 1000, p99 * 1000


def machine() -> list[str]:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    with psycopg.connect(ADMIN) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()
            for name in ("synchronous_commit", "fsync", "wal_sync_method", "shared_buffers")
        }
    shown = ", ".join(f"{k}={v[0] if v else '?'}" for k, v in settings.items())
    return [
        f"machine: {model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        f"PostgreSQL {version[0] if version else '?'} on the same machine (loopback): {shown}",
        f"Python {platform.python_version()}, eventsourcing's PostgresApplicationRecorder",
    ]


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    print(f"{seconds:.0f} s per run, best of {rounds}; one event per transaction")
    print(f"{'writes':<10}{'recorder':<26}{'writers':>8}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for mode in MODES:
        for unlocked in (False, True):
            label = "lock removed (unsafe)" if unlocked else "as shipped (LOCK TABLE)"
            for writers in WRITERS:
                runs = [measure(writers, seconds, unlocked, mode) for _ in range(rounds)]
                rate, p50, p99 = max(runs)
                print(f"{mode:<10}{label:<26}{writers:>8}{rate:>10.0f}{p50:>9.2f}{p99:>9.2f}")
    for line in machine():
        print(line)


if __name__ == "__main__":
    main()
