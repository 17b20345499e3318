"""`payments serve` and `payments worker` on one SQLite file: both feed and drain the
effects queue, and every payment is settled once (one call per effect at the shop)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from application.ledger import PaymentLedger
from domain.order import OrderSnapshot
from domain.payment import Payment, payment_id_for
from infrastructure.effects.queue_for_store import due_payments_for
from infrastructure.event_store.store import event_store_env
from infrastructure.neighbours.order_directory import HttpOrderDirectory
from tests.e2e.payment_processes import (
    WEBHOOK_SECRET,
    PaymentProcess,
    service_env,
    start_service,
    start_worker,
    wait_for,
)
from tests.fixtures.shop import CABLE, KEYBOARD, RunningShop
from tests.stripe_payloads import checkout_event, encode, sign

pytestmark = pytest.mark.e2e

PAID, EXPIRED = 6, 3


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'payments.db'}"


@pytest.fixture
def ledger(store_url: str) -> Iterator[PaymentLedger]:
    app = PaymentLedger(event_store_env(store_url))
    yield app
    app.close()


@pytest.fixture
def processes(
    shop: RunningShop, store_url: str, tmp_path: Path
) -> Iterator[tuple[PaymentProcess, PaymentProcess]]:
    env = service_env(shop, store_url, EFFECT_CONCURRENCY="2")
    serve = start_service(env, tmp_path / "serve.log")
    worker = start_worker(env, tmp_path / "worker.log")
    yield serve, worker
    worker.stop()
    serve.stop()


def open_payment(shop: RunningShop, ledger: PaymentLedger) -> tuple[str, Payment]:
    """A shop order with its payment recorded as create-session would."""
    order_id: str = shop.create_order(shop.login(), [(KEYBOARD, 1), (CABLE, 2)])["_id"]

    async def snapshot() -> OrderSnapshot:
        orders = HttpOrderDirectory(shop.url, internal_token=shop.internal_token)
        try:
            return await orders.get(order_id)
        finally:
            await orders.aclose()

    now = datetime.now(UTC)
    payment = Payment.initiate(
        asyncio.run(snapshot()), "buyer@example.com", f"cs_test_{order_id}",
        "https://checkout.example/x", expires_at=now + timedelta(minutes=30), at=now,
    )  # fmt: skip
    ledger.record(payment)
    return order_id, payment


def stripe_tells_serve(serve: PaymentProcess, event_type: str, payment: Payment) -> None:
    body = encode(
        checkout_event(
            event_type, payment.order_id, payment.checkout_session_id,
            amount_total=payment.amount.minor, currency=payment.amount.currency,
        )
    )  # fmt: skip
    answer = httpx.post(
        f"{serve.url}/payments/webhook",
        content=body,
        headers={"Stripe-Signature": sign(body, WEBHOOK_SECRET)},
    )
    assert answer.status_code == 200, answer.text


def recorded(ledger: PaymentLedger, order_id: str) -> Counter[str]:
    history = ledger.history(payment_id_for(order_id))
    return Counter(type(event).__qualname__ for event in history)


def test_serve_and_a_worker_on_one_sqlite_file_settle_every_payment_once(
    shop: RunningShop,
    ledger: PaymentLedger,
    processes: tuple[PaymentProcess, PaymentProcess],
) -> None:
    serve, worker = processes
    shop.set_fault("order_status", mode="delay", seconds=0.2)  # calls overlap
    opened = [open_payment(shop, ledger) for _ in range(PAID + EXPIRED)]
    for n, (_, payment) in enumerate(opened):
        outcome = "checkout.session.completed" if n < PAID else "checkout.session.expired"
        stripe_tells_serve(serve, outcome, payment)
    paid = [order_id for order_id, _ in opened[:PAID]]
    expired = [order_id for order_id, _ in opened[PAID:]]

    def all_settled() -> bool:
        payments = [ledger.find(order_id) for order_id, _ in opened]
        return all(p is not None and not p.pending_effects() for p in payments)

    wait_for(all_settled, "every payment settled", worker)
    wait_for(lambda: due_payments_for(ledger).depth().due == 0, "queue drained", worker)

    for order_id in paid:
        assert recorded(ledger, order_id)["Payment.OrderConfirmed"] == 1, order_id
        assert [c["to"] for c in shop.effects(order_id)["statusChanges"]] == ["CONFIRMED"]
        assert len(shop.calls(order_id, "order_status")) == 1, order_id
    for order_id in expired:
        facts = recorded(ledger, order_id)
        assert (facts["Payment.OrderCancelled"], facts["Payment.InventoryReleased"]) == (1, 2)
        assert [c["to"] for c in shop.effects(order_id)["statusChanges"]] == ["CANCELLED"]
        assert shop.effects(order_id)["released"] == {KEYBOARD: 1, CABLE: 2}
        assert len(shop.calls(order_id, "order_status")) == 1, order_id
        assert len(shop.calls(order_id, "release")) == 2, order_id
    assert serve.running and worker.running
