"""`payments worker` serves its metrics on METRICS_PORT; a port already taken is an alert,
not a stopped worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from application.apply_stripe_event import ApplyStripeEvent
from application.ledger import PaymentLedger
from application.stripe_events import decode_stripe_event
from domain.lifecycle import FailedPaymentPolicy
from infrastructure.event_store.store import event_store_env
from tests.e2e.payment_processes import service_env, start_worker, wait_for
from tests.e2e.shop_payments import open_payment, webhook
from tests.fixtures.shop import CABLE, KEYBOARD, RunningShop, free_port
from tests.metrics_text import sample

pytestmark = pytest.mark.e2e


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'payments.db'}"


@pytest.fixture
def ledger(sqlite_url: str) -> Iterator[PaymentLedger]:
    app = PaymentLedger(event_store_env(sqlite_url))
    yield app
    app.close()


def test_a_worker_serves_its_metrics_on_its_own_port(
    shop: RunningShop, ledger: PaymentLedger, sqlite_url: str, tmp_path: Path
) -> None:
    order_id: str = shop.create_order(shop.login(), [(KEYBOARD, 1), (CABLE, 2)])["_id"]
    payment = open_payment(shop, ledger, order_id)
    body, _ = webhook(payment, "checkout.session.completed", "evt_worker_metrics")
    ApplyStripeEvent(ledger, FailedPaymentPolicy.CANCEL).apply(decode_stripe_event(body))
    port = free_port()
    env = service_env(shop, sqlite_url, METRICS_PORT=str(port))

    def scrape() -> str:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        except httpx.TransportError:
            return ""

    worker = start_worker(env, tmp_path / "worker.log")
    second = None
    try:
        wait_for(lambda: shop.effects(order_id)["confirmed"] == 1, "order confirmed", worker)
        confirmed = {"neighbour": "order", "effect": "confirm_order", "outcome": "done"}
        wait_for(
            lambda: sample(scrape(), "payments_effect_calls_total", **confirmed) is not None,
            "the confirmation in the metrics",
            worker,
        )
        text = scrape()
        assert sample(text, "payments_effect_calls_total", **confirmed) == 1
        assert sample(text, "payments_effects_due") is not None
        assert sample(text, "payments_metric_source_up", source="effects_queue") == 1
        assert sample(text, "process_resident_memory_bytes")

        second = start_worker(env, tmp_path / "second.log")  # the same port: taken
        wait_for(
            lambda: any(
                str(line.get("message")).startswith("cannot serve metrics") and line.get("alert")
                for line in second.log_lines()
            ),
            "the second worker's alert",
            second,
        )
        assert second.running
    finally:
        worker.stop()
        if second is not None:
            second.stop()
