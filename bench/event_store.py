"""Throughput of the write path on each event store: initiate + apply a paid webhook.

Run: .venv/bin/python bench/event_store.py [N] [ROUNDS]

Each round measures both stores on fresh ones (a new SQLite file, a new PostgreSQL
schema), in alternating order (SQLite first, then PostgreSQL first, ...), so neither
always runs on a warmer or a cooler machine. Each store first takes a 50-payment
warm-up (connections, tables, caches) that is not timed. Prints payments/s per
round, then per store the median and the spread, and the PostgreSQL/SQLite ratio
of the medians.
"""

from __future__ import annotations

import asyncio
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from application.apply_stripe_event import ApplyStripeEvent
from application.checkout import CreateCheckoutSession
from application.identity import Caller
from application.ledger import PaymentLedger
from application.stripe_events import decode_stripe_event
from domain.lifecycle import FailedPaymentPolicy
from infrastructure.event_store.store import event_store_env
from tests.fakes import FakeCheckoutGateway, FakeOrderDirectory, FixedClock, an_order
from tests.fixtures.event_store import drop_postgres_schema, fresh_postgres_url
from tests.stripe_payloads import checkout_event, encode

WARM_UP = 50
STORES = ("sqlite", "postgres")


async def run(ledger: PaymentLedger, n: int, prefix: str = "ord") -> float:
    clock, orders = FixedClock(), FakeOrderDirectory()
    create = CreateCheckoutSession(ledger, orders, FakeCheckoutGateway(clock), clock)
    apply = ApplyStripeEvent(ledger, FailedPaymentPolicy.CANCEL)
    caller = Caller("user_1", "b@example.com")
    started = time.perf_counter()
    for i in range(n):
        order_id = f"{prefix}_{i}"
        orders.add(an_order(order_id, "user_1"))
        link = await create(caller, order_id)
        paid = checkout_event("checkout.session.completed", order_id, link.session_id)
        await apply(decode_stripe_event(encode(paid)))
    return n / (time.perf_counter() - started)


@contextmanager
def sqlite_store() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{tmp}/bench.db"


@contextmanager
def postgres_store() -> Iterator[str]:
    url = fresh_postgres_url()
    try:
        yield url
    finally:
        drop_postgres_schema(url)


FRESH_STORE: dict[str, Callable[[], AbstractContextManager[str]]] = {
    "sqlite": sqlite_store,
    "postgres": postgres_store,
}


def measure(store: str, n: int) -> float:
    with FRESH_STORE[store]() as url, PaymentLedger(event_store_env(url)) as ledger:
        asyncio.run(run(ledger, WARM_UP, prefix="warm"))
        return asyncio.run(run(ledger, n))


def round_order(index: int) -> tuple[str, ...]:
    """SQLite first in rounds 1, 3, ...; PostgreSQL first in rounds 2, 4, ..."""
    return STORES if index % 2 == 0 else tuple(reversed(STORES))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    print(f"machine: {platform.machine()}, {platform.python_version()}, n={n}, "
          f"{WARM_UP}-payment warm-up per store, {rounds} rounds in alternating order")  # fmt: skip
    rates: dict[str, list[float]] = {store: [] for store in STORES}
    for index in range(rounds):
        for store in round_order(index):
            rate = measure(store, n)
            rates[store].append(rate)
            print(f"round {index + 1}: {store:9s} {rate:8.1f} payments/s")
    medians = {store: statistics.median(values) for store, values in rates.items()}
    for store, values in rates.items():
        spread = (max(values) - min(values)) / medians[store] * 100
        print(f"{store:9s} median {medians[store]:8.1f} payments/s "
              f"({min(values):.1f}-{max(values):.1f}, spread {spread:.1f}%) "
              "(create-session + paid webhook)")  # fmt: skip
    print(f"postgres/sqlite ratio of medians: {medians['postgres'] / medians['sqlite']:.2f}")


if __name__ == "__main__":
    main()
