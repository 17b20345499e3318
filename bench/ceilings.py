"""The ceilings the service's figures are compared with, each measured in a process of its own.

Run by bench/run.py as `python bench/ceilings.py WHAT ARGS…`; prints one JSON line.

- `load-save STORE IDS SECONDS`: eventsourcing load + save of one event, in-process on
  the same store: `PaymentLedger.find`, `Payment.succeed`, `PaymentLedger.record`, one
  open payment after another (what a paid webhook must do at the least).
- `load STORE IDS SECONDS`: the load alone (what a redelivery must do at the least).
- `read-log STORE`: every notification of the log, a page at a time, undecoded (the
  floor under rebuild, verify and export, which read the same pages).
- `find-one MONGODB_URI IDS SECONDS CONNECTIONS`: raw `find_one` by `orderId` on the
  view's collection, CONNECTIONS at once (pymongo's asyncio client).
- `create-session ORDERS_URL STRIPE_URL STRIPE_KEY COUNT`: the two calls create-session
  makes, through the service's own adapters, one after another: the order from the
  order service, then a Checkout Session from Stripe (the sandbox).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from application.ledger import PaymentLedger
from infrastructure.event_store.store import open_ledger


def _ids(path: str) -> list[str]:
    return Path(path).read_text().split()


def load_save(store: str, ids_path: str, seconds: float) -> dict[str, float]:
    ids = _ids(ids_path)
    with open_ledger(store) as ledger:
        _warm(ledger, ids[:1])
        done, started = 0, time.perf_counter()
        for order_id in ids[1:]:
            payment = ledger.find(order_id)
            assert payment is not None, order_id
            payment.succeed(f"evt_{order_id}", "pi_ceiling", "buyer@example.com", payment.amount)
            ledger.record(payment)
            done += 1
            if time.perf_counter() - started > seconds:
                break
        elapsed = time.perf_counter() - started
    return {"operations": done, "seconds": elapsed, "per_second": done / elapsed}


def load(store: str, ids_path: str, seconds: float) -> dict[str, float]:
    ids = _ids(ids_path)
    with open_ledger(store) as ledger:
        done, started = 0, time.perf_counter()
        for order_id in itertools.cycle(ids):
            payment = ledger.find(order_id)
            assert payment is not None and payment.has_applied(f"evt_{order_id}"), order_id
            done += 1
            if time.perf_counter() - started > seconds:
                break
        elapsed = time.perf_counter() - started
    return {"operations": done, "seconds": elapsed, "per_second": done / elapsed}


def read_log(store: str) -> dict[str, float]:
    """Every notification of the log, in pages of 500, as the followers and the audit read it."""
    with open_ledger(store) as ledger:
        position, done, started = 0, 0, time.perf_counter()
        while page := ledger.recorder.select_notifications(position, 500, inclusive_of_start=False):
            done += len(page)
            position = page[-1].id
        elapsed = time.perf_counter() - started
    return {"operations": done, "seconds": elapsed, "per_second": done / elapsed}


def _warm(ledger: PaymentLedger, ids: list[str]) -> None:
    for order_id in ids:
        ledger.find(order_id)


async def find_one(uri: str, ids_path: str, seconds: float, connections: int) -> dict[str, float]:
    from pymongo import AsyncMongoClient  # noqa: PLC0415

    from infrastructure.mongo.payment_document import DEFAULT_DATABASE, PAYMENTS  # noqa: PLC0415

    ids = _ids(ids_path)
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(uri, tz_aware=True)
    payments = client.get_default_database(default=DEFAULT_DATABASE)[PAYMENTS]
    await payments.find_one({"orderId": ids[0]}, {"_id": 0})
    counter = itertools.count()
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def reader(offset: int) -> None:
        for order_id in itertools.islice(itertools.cycle(ids), offset, None):
            began = time.perf_counter()
            if began > deadline:
                return
            assert await payments.find_one({"orderId": order_id}, {"_id": 0}) is not None
            latencies.append(time.perf_counter() - began)
            next(counter)

    started = time.perf_counter()
    step = max(1, len(ids) // connections)
    await asyncio.gather(*(reader(index * step) for index in range(connections)))
    elapsed = time.perf_counter() - started
    await client.close()
    latencies.sort()
    done = len(latencies)
    return {
        "operations": done,
        "seconds": elapsed,
        "per_second": done / elapsed,
        "p50_ms": latencies[done // 2] * 1000,
        "p99_ms": latencies[min(done - 1, int(done * 0.99))] * 1000,
    }


async def create_session(
    orders_url: str, stripe_url: str, stripe_key: str, count: int
) -> dict[str, float]:
    from application.ports import CheckoutRequest  # noqa: PLC0415
    from infrastructure.clock import SystemClock  # noqa: PLC0415
    from infrastructure.neighbours.order_directory import HttpOrderDirectory  # noqa: PLC0415
    from infrastructure.stripe.checkout_gateway import StripeCheckoutGateway  # noqa: PLC0415

    orders = HttpOrderDirectory(orders_url, internal_token=None)
    gateway = StripeCheckoutGateway(
        stripe_key,
        api_base=stripe_url,
        frontend_url="http://localhost:3000",
        expires_minutes=30,
        clock=SystemClock(),
    )
    try:
        started = time.perf_counter()
        for index in range(count):
            order = await orders.get(f"ceiling_cs_{index:05d}")
            assert order is not None
            await gateway.open_session(
                CheckoutRequest(order, "buyer@example.com", f"checkout:ceiling_cs_{index:05d}")
            )
        elapsed = time.perf_counter() - started
    finally:
        await orders.aclose()
        await gateway.aclose()
    return {"operations": count, "seconds": elapsed, "per_second": count / elapsed}


def main(argv: list[str]) -> None:
    what, *args = argv
    if what == "load-save":
        result = load_save(args[0], args[1], float(args[2]))
    elif what == "load":
        result = load(args[0], args[1], float(args[2]))
    elif what == "read-log":
        result = read_log(args[0])
    elif what == "find-one":
        result = asyncio.run(find_one(args[0], args[1], float(args[2]), int(args[3])))
    elif what == "create-session":
        result = asyncio.run(create_session(args[0], args[1], args[2], int(args[3])))
    else:
        raise SystemExit(f"unknown ceiling {what}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
