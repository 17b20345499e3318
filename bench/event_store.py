"""Throughput of the write path on each event store: initiate + apply a paid webhook.

Run: .venv/bin/python bench/event_store.py [N]
Prints payments/s per store and the PostgreSQL/SQLite ratio, measured in one run.
"""

from __future__ import annotations

import asyncio
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from application.apply_stripe_event import ApplyStripeEvent
from application.checkout import CreateCheckoutSession
from application.identity import Caller
from application.ledger import PaymentLedger
from application.stripe_events import decode_stripe_event
from domain.lifecycle import FailedPaymentPolicy
from infrastructure.event_store import event_store_env
from tests.fakes import FakeCheckoutGateway, FakeOrderDirectory, FixedClock, an_order
from tests.fixtures.event_store import drop_postgres_schema, fresh_postgres_url
from tests.stripe_payloads import checkout_event, encode


async def run(ledger: PaymentLedger, n: int) -> float:
    clock, orders = FixedClock(), FakeOrderDirectory()
    create = CreateCheckoutSession(ledger, orders, FakeCheckoutGateway(clock), clock)
    apply = ApplyStripeEvent(ledger, FailedPaymentPolicy.CANCEL)
    caller = Caller("user_1", "b@example.com")
    started = time.perf_counter()
    for i in range(n):
        orders.add(an_order(f"ord_{i}", "user_1"))
        link = await create(caller, f"ord_{i}")
        paid = checkout_event("checkout.session.completed", f"ord_{i}", link.session_id)
        await apply(decode_stripe_event(encode(paid)))
    return n / (time.perf_counter() - started)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    results = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        PaymentLedger(event_store_env(f"sqlite:///{tmp}/bench.db")) as ledger,
    ):
        results["sqlite"] = asyncio.run(run(ledger, n))
    url = fresh_postgres_url()
    try:
        with PaymentLedger(event_store_env(url)) as ledger:
            results["postgres"] = asyncio.run(run(ledger, n))
    finally:
        drop_postgres_schema(url)
    print(f"machine: {platform.machine()}, {platform.python_version()}, n={n}")
    for store, rate in results.items():
        print(f"{store:9s} {rate:8.1f} payments/s (create-session + paid webhook)")
    print(f"postgres/sqlite ratio: {results['postgres'] / results['sqlite']:.2f}")


if __name__ == "__main__":
    main()
