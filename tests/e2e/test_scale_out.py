"""Scale-out on real processes: two `payments serve` and two `payments worker` on one
PostgreSQL schema and one MongoDB-compatible server, the reference shop as order and
inventory service. A webhook storm across both APIs (duplicates sent to the other API at
once, late events after the outcome) leaves every order in its right final state with each
effect done once; a worker SIGKILLed while it holds payments loses nothing. The status
projection runs in one process at a time, and the view ends at every payment's last event."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from application.ledger import PaymentLedger
from domain.payment import Payment
from infrastructure.event_store.store import event_store_env
from tests.e2e.payment_processes import (
    PaymentProcess,
    service_env,
    start_service,
    start_worker,
    wait_for,
)
from tests.e2e.shop_payments import open_payment, webhook
from tests.e2e.test_worker_takeover import leased_by, owes_nothing, recorded
from tests.fixtures.event_store import drop_postgres_schema, fresh_postgres_url
from tests.fixtures.shop import CABLE, KEYBOARD, RunningShop, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

PAID, EXPIRED = 30, 10
LEASE_SECONDS = 2
CONCURRENCY = 3  # per process: small, so the work lasts long enough to kill a worker in it
CALL_SECONDS = 0.5  # the shop holds each order PATCH: calls are in flight when the worker dies
COMPLETED, EXPIRED_EVENT = "checkout.session.completed", "checkout.session.expired"


@pytest.fixture
def store_url() -> Iterator[str]:
    url = fresh_postgres_url()
    yield url
    drop_postgres_schema(url)


@pytest.fixture
def ledger(store_url: str) -> Iterator[PaymentLedger]:
    app = PaymentLedger(event_store_env(store_url))
    yield app
    app.close()


@pytest.fixture
def processes(
    shop: RunningShop, store_url: str, mongo_database_uri: str, tmp_path: Path
) -> Iterator[tuple[list[PaymentProcess], list[PaymentProcess]]]:
    env = service_env(
        shop,
        store_url,
        MONGODB_URI=mongo_database_uri,
        EFFECT_LEASE_SECONDS=str(LEASE_SECONDS),
        EFFECT_CONCURRENCY=str(CONCURRENCY),
    )
    started: list[PaymentProcess] = []
    try:
        apis = [start_service(env, tmp_path / f"serve{n}.log") for n in (1, 2)]
        started += apis
        for n in (1, 2):
            worker_env = {**env, "METRICS_PORT": str(free_port())}
            started.append(start_worker(worker_env, tmp_path / f"worker{n}.log"))
        yield apis, started[2:]
    finally:
        for process in started:
            process.stop()


Delivery = tuple[bytes, dict[str, str]]


def outcomes(paid: list[Payment], expired: list[Payment]) -> list[Delivery]:
    """Each payment's outcome twice: Stripe retrying while the first is in flight."""
    sent = []
    for n, payment in enumerate(paid):
        sent += [webhook(payment, COMPLETED, f"evt_paid_{n}")] * 2
    for n, payment in enumerate(expired):
        sent += [webhook(payment, EXPIRED_EVENT, f"evt_expired_{n}")] * 2
    return sent


def late_contradictions(paid: list[Payment]) -> list[Delivery]:
    """An expiry after the payment: a terminal state is never overwritten."""
    return [webhook(p, EXPIRED_EVENT, f"evt_late_expiry_{n}") for n, p in enumerate(paid)]


async def storm(apis: list[PaymentProcess], sent: list[Delivery]) -> list[int]:
    """Every delivery at once; delivery `i` goes to API `i % 2` (so a copy to each)."""
    limits = httpx.Limits(max_connections=len(sent))
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def post(i: int, body: bytes, headers: dict[str, str]) -> int:
            url = f"{apis[i % 2].url}/payments/webhook"
            return (await client.post(url, content=body, headers=headers)).status_code

        return await asyncio.gather(*(post(i, *d) for i, d in enumerate(sent)))


def assert_one_key_per_effect(shop: RunningShop, order_id: str, effects: int) -> list[str]:
    """Each effect asked for under one idempotency key of its own, however many calls it took.

    Returns the routes of the calls the SIGKILL cut off: the shop got their headers but no
    body, did nothing and answered 400 (test_worker_takeover's check counts them as effects).
    """
    keys: dict[tuple[str, str], set[str | None]] = defaultdict(set)
    cut = []
    for call in shop.calls(order_id):
        if call["method"] == "GET":
            continue
        if call["body"] is None:
            cut.append(call["route"])
            continue
        keys[(call["route"], json.dumps(call["body"], sort_keys=True))].add(call["idempotencyKey"])
    assert len(keys) == effects, keys
    assert all(len(used) == 1 for used in keys.values()), keys
    return cut


def runs_the_projection(process: PaymentProcess) -> bool:
    return any(
        line.get("message") == "this process now runs it"
        and line.get("worker") == "status projection"
        for line in process.log_lines()
    )


def view_of(mongo_database_uri: str) -> dict[str, dict[str, Any]]:
    with MongoClient(mongo_database_uri) as client:
        payments = client.get_default_database()["payments"]
        return {doc["orderId"]: doc for doc in payments.find({}, {"_id": 0})}


def test_two_apis_and_two_workers_settle_a_storm_once_and_survive_a_killed_worker(
    shop: RunningShop,
    ledger: PaymentLedger,
    store_url: str,
    mongo_database_uri: str,
    processes: tuple[list[PaymentProcess], list[PaymentProcess]],
) -> None:
    apis, (victim, survivor) = processes
    token = shop.login()
    orders = [shop.create_order(token, [(KEYBOARD, 1), (CABLE, 2)])["_id"] for _ in range(PAID)]
    orders += [shop.create_order(token, [(KEYBOARD, 1), (CABLE, 2)])["_id"] for _ in range(EXPIRED)]
    payments = [open_payment(shop, ledger, order_id) for order_id in orders]
    paid, expired = orders[:PAID], orders[PAID:]
    shop.set_fault("order_status", mode="delay", seconds=CALL_SECONDS)

    statuses: list[int] = []

    def send_the_storm() -> None:
        statuses.extend(asyncio.run(storm(apis, outcomes(payments[:PAID], payments[PAID:]))))
        statuses.extend(asyncio.run(storm(apis, late_contradictions(payments[:PAID]))))

    sender = threading.Thread(target=send_the_storm)
    sender.start()
    wait_for(lambda: bool(leased_by(store_url, victim)), "the victim holds payments", victim)
    victim.kill()
    in_flight = leased_by(store_url, victim)
    sender.join(timeout=60)
    assert set(statuses) == {200}, statuses  # every delivery acknowledged, duplicates too

    wait_for(lambda: owes_nothing(ledger, orders), "every payment settled", survivor)
    final_versions = {o: p.version for o in orders if (p := ledger.find(o)) is not None}
    wait_for(
        lambda: {o: d["version"] for o, d in view_of(mongo_database_uri).items()} == final_versions,
        "the MongoDB view at every payment's final version",
        apis[0],
    )

    view = view_of(mongo_database_uri)
    cut_off: dict[str, list[str]] = {}
    for order_id in paid:
        facts = recorded(ledger, order_id)
        assert facts["Payment.Succeeded"] == 1 and facts["Payment.OrderConfirmed"] == 1, facts
        assert "Payment.Failed" not in facts  # the late expiry changed nothing
        assert [c["to"] for c in shop.effects(order_id)["statusChanges"]] == ["CONFIRMED"]
        assert shop.order(order_id)["status"] == "CONFIRMED"
        cut_off[order_id] = assert_one_key_per_effect(shop, order_id, effects=1)
        assert view[order_id]["status"] == "SUCCESS"
    for order_id in expired:
        facts = recorded(ledger, order_id)
        assert (facts["Payment.OrderCancelled"], facts["Payment.InventoryReleased"]) == (1, 2)
        effects = shop.effects(order_id)
        assert [c["to"] for c in effects["statusChanges"]] == ["CANCELLED"]
        assert effects["released"] == {KEYBOARD: 1, CABLE: 2}
        assert shop.order(order_id)["status"] == "CANCELLED"
        cut_off[order_id] = assert_one_key_per_effect(shop, order_id, effects=3)
        assert view[order_id]["status"] == "FAILED"
    # An order PATCHed twice was one the victim had in flight; the other three processes
    # took its payments over once its leases lapsed.
    patched = {o: len(shop.calls(o, "order_status")) for o in orders}
    asked_again = {p.id for p in payments if patched[p.order_id] > 1 or cut_off[p.order_id]}
    assert asked_again <= in_flight, patched
    assert max(patched.values()) <= 2, patched
    # One process at a time ran the projection: the first to take its lock, and another only
    # if that one was the victim.
    projecting = [p for p in [*apis, victim, survivor] if runs_the_projection(p)]
    assert len(projecting) == 1 or (len(projecting) == 2 and victim in projecting), projecting
    settled_by = [{line["paymentId"] for line in p.settled()} for p in [*apis, victim, survivor]]
    assert set().union(*settled_by) >= {str(p.id) for p in payments}
    assert sum(1 for s in settled_by if s) >= 3, "the work was not shared"
