"""Several `payments worker` processes on one PostgreSQL store: one acts, each effect once."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from application.apply_stripe_event import ApplyStripeEvent
from application.ledger import PaymentLedger
from application.stripe_events import decode_stripe_event
from domain.lifecycle import FailedPaymentPolicy
from domain.order import OrderSnapshot
from domain.payment import Payment
from infrastructure.event_store.store import event_store_env
from infrastructure.neighbours.order_directory import HttpOrderDirectory
from tests.e2e.payment_processes import (
    ACTIVE,
    PaymentProcess,
    service_env,
    start_worker,
    wait_for,
)
from tests.fixtures.event_store import drop_postgres_schema, fresh_postgres_url
from tests.fixtures.shop import CABLE, KEYBOARD, RunningShop
from tests.stripe_payloads import checkout_event, encode

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


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
    env = service_env(shop, store_url)
    started = [start_worker(env, tmp_path / f"worker{n}.log") for n in (1, 2)]
    yield started
    for worker in started:
        worker.stop()


def pay(shop: RunningShop, ledger: PaymentLedger, outcome: str) -> str:
    """A shop order whose payment the store records with this Stripe outcome."""
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


def settled(shop: RunningShop, order_id: str) -> bool:
    effects = shop.effects(order_id)
    return bool(effects["confirmed"] or effects["cancelled"])


def assert_each_effect_once(
    shop: RunningShop, order_id: str, status: str, released: dict[str, int] | None = None
) -> None:
    """The order changed status once and got each product's stock back once; and each
    effect was asked for under one idempotency key of its own, however many HTTP calls
    it took (a retry of a call whose answer was lost is fine: the key makes it once)."""
    effects = shop.effects(order_id)
    assert [change["to"] for change in effects["statusChanges"]] == [status]
    assert effects["released"] == (released or {})
    keys: dict[tuple[str, str], set[str | None]] = defaultdict(set)
    for call in shop.calls(order_id):
        if call["method"] != "GET":
            effect = (call["route"], json.dumps(call["body"], sort_keys=True))
            keys[effect].add(call["idempotencyKey"])
    assert len(keys) == 1 + len(released or {}), keys  # the status change, each release
    assert all(len(used) == 1 for used in keys.values()), keys
    assert len({key for used in keys.values() for key in used}) == len(keys), keys


def test_two_workers_perform_each_effect_once_and_the_standby_takes_over(
    shop: RunningShop, ledger: PaymentLedger, workers: list[PaymentProcess]
) -> None:
    wait_for(lambda: sum(w.has_logged(ACTIVE) for w in workers) == 1, "one worker leads")
    paid = [pay(shop, ledger, "checkout.session.completed") for _ in range(3)]
    expired = pay(shop, ledger, "checkout.session.expired")

    for order_id in [*paid, expired]:
        wait_for(lambda order_id=order_id: settled(shop, order_id), f"{order_id} settled")

    for order_id in paid:
        assert shop.effects(order_id)["confirmed"] == 1
        assert_each_effect_once(shop, order_id, "CONFIRMED")
    assert shop.effects(expired)["cancelled"] == 1
    assert_each_effect_once(shop, expired, "CANCELLED", {KEYBOARD: 1, CABLE: 2})

    active = next(w for w in workers if w.has_logged(ACTIVE))
    standby = next(w for w in workers if w is not active)
    active.kill()
    late = pay(shop, ledger, "checkout.session.completed")

    wait_for(lambda: settled(shop, late), "the standby confirmed the late order", standby)
    assert standby.has_logged(ACTIVE)
    assert shop.effects(late)["confirmed"] == 1
    assert_each_effect_once(shop, late, "CONFIRMED")
    for order_id in paid:
        assert shop.effects(order_id)["confirmed"] == 1
