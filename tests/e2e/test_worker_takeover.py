"""Two `payments worker` processes on one PostgreSQL store share the effects queue; one is
killed (SIGKILL) mid-batch and the other finishes its payments once its leases lapse."""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from application.apply_stripe_event import ApplyStripeEvent
from application.ledger import PaymentLedger
from application.stripe_events import decode_stripe_event
from domain.lifecycle import FailedPaymentPolicy
from domain.order import OrderSnapshot
from domain.payment import Payment, payment_id_for
from infrastructure.effects.due_payments import TABLE
from infrastructure.event_store.store import event_store_env
from infrastructure.neighbours.order_directory import HttpOrderDirectory
from tests.e2e.payment_processes import PaymentProcess, service_env, wait_for
from tests.fixtures.event_store import drop_postgres_schema, fresh_postgres_url
from tests.fixtures.shop import CABLE, KEYBOARD, RunningShop
from tests.stripe_payloads import checkout_event, encode

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

LEASE_SECONDS = 2  # a killed worker's payments are claimable again this soon
CONCURRENCY = 3  # per worker: small, so neither can take all the work at once
CALL_SECONDS = 0.5  # each status change is held this long by the shop: calls are in flight
PAID, EXPIRED = 16, 4
ADMIN = "host=127.0.0.1 port=5432 dbname=test user=postgres"


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
def workers(shop: RunningShop, store_url: str, tmp_path: Path) -> Iterator[list[PaymentProcess]]:
    env = service_env(
        shop,
        store_url,
        EFFECT_LEASE_SECONDS=str(LEASE_SECONDS),
        EFFECT_CONCURRENCY=str(CONCURRENCY),
    )
    # Started by the test once the payments are recorded, so the queue is full from the start.
    processes = [PaymentProcess(["worker"], env, tmp_path / f"worker{n}.log") for n in (1, 2)]
    yield processes
    for worker in processes:
        worker.stop()


def pay(shop: RunningShop, ledger: PaymentLedger, outcome: str) -> str:
    """A shop order whose payment the store records with this Stripe outcome, as the
    webhook would (the workers only read the store)."""
    order_id: str = shop.create_order(shop.login(), [(KEYBOARD, 1), (CABLE, 2)])["_id"]
    orders = HttpOrderDirectory(shop.url, internal_token=shop.internal_token)

    async def snapshot() -> OrderSnapshot:
        try:
            return await orders.get(order_id)
        finally:
            await orders.aclose()

    now = datetime.now(UTC)
    order = asyncio.run(snapshot())
    ledger.record(
        Payment.initiate(
            order, "buyer@example.com", f"cs_{order_id}", "https://checkout.example/x",
            expires_at=now + timedelta(minutes=30), at=now,
        )
    )  # fmt: skip
    payload = checkout_event(
        outcome, order_id, f"cs_{order_id}",
        amount_total=order.total.minor, currency=order.total.currency,
    )  # fmt: skip
    ApplyStripeEvent(ledger, FailedPaymentPolicy.CANCEL).apply(decode_stripe_event(encode(payload)))
    return order_id


def leased_by(store_url: str, worker: PaymentProcess) -> set[UUID]:
    """The payments whose queue rows this worker's process holds a lease on now."""
    schema = store_url.rsplit("schema=", 1)[1]
    query = SQL(
        "SELECT payment_id FROM {} WHERE lease_owner LIKE %s "
        "AND lease_until > extract(epoch FROM clock_timestamp())"
    ).format(Identifier(schema, TABLE))
    with psycopg.connect(ADMIN) as conn:
        rows = conn.execute(query, (f"%:{worker.pid}:%",)).fetchall()
    return {UUID(str(row[0])) for row in rows}


def owes_nothing(ledger: PaymentLedger, order_ids: list[str]) -> bool:
    payments = [ledger.find(order_id) for order_id in order_ids]
    return all(p is not None and not p.pending_effects() for p in payments)


def recorded(ledger: PaymentLedger, order_id: str) -> Counter[str]:
    """How many times each fact was recorded on the order's payment."""
    history = ledger.history(payment_id_for(order_id))
    return Counter(type(event).__qualname__ for event in history)


def assert_one_key_per_effect(shop: RunningShop, order_id: str, effects: int) -> None:
    """Each effect was asked for under one idempotency key of its own, however many HTTP
    calls it took (a call repeated after its worker died is fine: the key makes it once)."""
    keys: dict[tuple[str, str], set[str | None]] = defaultdict(set)
    for call in shop.calls(order_id):
        if call["method"] != "GET":
            effect = (call["route"], json.dumps(call["body"], sort_keys=True))
            keys[effect].add(call["idempotencyKey"])
    assert len(keys) == effects, keys
    assert all(len(used) == 1 for used in keys.values()), keys


def test_a_worker_killed_mid_batch_leaves_its_payments_to_the_other_and_nothing_is_done_twice(
    shop: RunningShop, ledger: PaymentLedger, store_url: str, workers: list[PaymentProcess]
) -> None:
    victim, survivor = workers
    # The shop confirms at once but answers late, so the workers always have calls in flight.
    shop.set_fault("order_status", mode="delay", seconds=CALL_SECONDS)
    paid = [pay(shop, ledger, "checkout.session.completed") for _ in range(PAID)]
    expired = [pay(shop, ledger, "checkout.session.expired") for _ in range(EXPIRED)]
    every = paid + expired
    for worker in workers:
        worker.start()

    wait_for(
        lambda: bool(victim.settled() and survivor.settled() and leased_by(store_url, victim)),
        "both workers settled some and the victim holds payments",
        victim,
    )
    victim.kill()
    in_flight = leased_by(store_url, victim)  # its rows, still leased to a dead process
    assert in_flight, "the victim was killed between batches, not in one"

    wait_for(lambda: owes_nothing(ledger, every), "every payment settled", survivor)
    survivor_settled = {UUID(line["paymentId"]) for line in survivor.settled()}
    assert in_flight <= survivor_settled  # the survivor took over the victim's payments

    # Every effect recorded exactly once, and done once at the shop.
    for order_id in paid:
        assert recorded(ledger, order_id)["Payment.OrderConfirmed"] == 1, order_id
        assert [c["to"] for c in shop.effects(order_id)["statusChanges"]] == ["CONFIRMED"]
        assert_one_key_per_effect(shop, order_id, effects=1)
    for order_id in expired:
        facts = recorded(ledger, order_id)
        assert (facts["Payment.OrderCancelled"], facts["Payment.InventoryReleased"]) == (1, 2)
        effects = shop.effects(order_id)
        assert [c["to"] for c in effects["statusChanges"]] == ["CANCELLED"]
        assert effects["released"] == {KEYBOARD: 1, CABLE: 2}
        assert_one_key_per_effect(shop, order_id, effects=3)
    # Each order PATCHed once, but for those the victim had in flight: the survivor asks again.
    patched = {o: len(shop.calls(o, "order_status")) for o in every}
    asked_again = {o for o, calls in patched.items() if calls > 1}
    assert {payment_id_for(o) for o in asked_again} <= in_flight, patched
    assert max(patched.values()) <= 2, patched

    # Both did some of the work, each under its own worker id.
    for worker in workers:
        ids = {line["worker"] for line in worker.settled()}
        assert len(ids) == 1 and f":{worker.pid}:" in ids.pop()
    settled_by = [{line["paymentId"] for line in w.settled()} for w in workers]
    assert all(settled_by)
    assert set().union(*settled_by) == {str(payment_id_for(o)) for o in every}
