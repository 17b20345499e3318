"""SIGKILL `payments serve` right after it acknowledged a webhook, with the order service down.

The service runs as in production, with MongoDB: after the restart, the order is
confirmed once and the MongoDB status view catches up with the payment's last event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo.database import Database

from application.ledger import PaymentLedger
from domain.order import OrderSnapshot
from domain.payment import Payment, payment_id_for
from infrastructure.event_store.store import event_store_env
from infrastructure.neighbours.order_directory import HttpOrderDirectory
from tests.e2e.payment_processes import WEBHOOK_SECRET, service_env, start_service, wait_for
from tests.fixtures.shop import CABLE, KEYBOARD, RunningShop
from tests.stripe_payloads import checkout_event, encode, sign

pytestmark = pytest.mark.e2e


@pytest.fixture
def ledger(store_url: str) -> Iterator[PaymentLedger]:
    app = PaymentLedger(event_store_env(store_url))
    yield app
    app.close()


def open_payment(shop: RunningShop, ledger: PaymentLedger, order_id: str) -> str:
    """Records the order's payment as create-session would, with a session id of our own."""

    async def snapshot() -> OrderSnapshot:
        orders = HttpOrderDirectory(shop.url, internal_token=shop.internal_token)
        try:
            return await orders.get(order_id)
        finally:
            await orders.aclose()

    now = datetime.now(UTC)
    session_id = f"cs_test_{order_id}"
    ledger.record(
        Payment.initiate(
            asyncio.run(snapshot()), "buyer@example.com", session_id,
            "https://checkout.example/x", expires_at=now + timedelta(minutes=30), at=now,
        )
    )  # fmt: skip
    return session_id


def test_a_crash_after_the_acknowledgement_loses_nothing_and_confirms_once(
    shop: RunningShop,
    ledger: PaymentLedger,
    store_url: str,
    mongo_database_uri: str,
    mongo_db: Database[dict[str, Any]],
    tmp_path: Path,
) -> None:
    token = shop.login()
    order_id: str = shop.create_order(token, [(KEYBOARD, 1), (CABLE, 2)])["_id"]
    session_id = open_payment(shop, ledger, order_id)
    paid = ledger.find(order_id)
    assert paid is not None
    env = service_env(shop, store_url, MONGODB_URI=mongo_database_uri)
    service = start_service(env, tmp_path / "serve1.log")
    shop.kill()  # the order service is down

    body = encode(
        checkout_event(
            "checkout.session.completed", order_id, session_id,
            amount_total=paid.amount.minor, currency=paid.amount.currency,
        )
    )  # fmt: skip
    answer = httpx.post(
        f"{service.url}/payments/webhook",
        content=body,
        headers={
            "Stripe-Signature": sign(body, WEBHOOK_SECRET),
            "Content-Type": "application/json",
        },
    )
    assert answer.status_code == 200, answer.text
    service.kill()

    restarted = start_service(env, tmp_path / "serve2.log")
    try:
        shop.start()  # the order service is back
        wait_for(lambda: shop.effects(order_id)["confirmed"] > 0, "order confirmed", restarted)
        wait_for(lambda: confirmed_in(ledger, order_id), "confirmation recorded", restarted)
        final_version = ledger_version(ledger, order_id)
        wait_for(
            lambda: view_of(mongo_db, order_id).get("version") == final_version,
            f"MongoDB view at version {final_version}",
            restarted,
        )
        status = httpx.get(
            f"{restarted.url}/payments/status/{order_id}",
            headers={"Authorization": f"Bearer {token}"},
        )
    finally:
        restarted.stop()

    effects = shop.effects(order_id)
    assert [change["to"] for change in effects["statusChanges"]] == ["CONFIRMED"]
    assert shop.order(order_id)["status"] == "CONFIRMED"
    assert status.status_code == 200, status.text
    assert status.json()["status"] == "SUCCESS"
    history = [type(e).__qualname__ for e in ledger.history(payment_id_for(order_id))]
    assert history.count("Payment.OrderConfirmed") == 1
    document = view_of(mongo_db, order_id)
    assert (document["status"], document["version"]) == ("SUCCESS", final_version)
    assert ledger_version(ledger, order_id) == final_version  # nothing recorded since


def confirmed_in(ledger: PaymentLedger, order_id: str) -> bool:
    history = ledger.history(payment_id_for(order_id))
    return any(type(e).__qualname__ == "Payment.OrderConfirmed" for e in history)


def ledger_version(ledger: PaymentLedger, order_id: str) -> int:
    payment = ledger.find(order_id)
    assert payment is not None
    return int(payment.version)


def view_of(mongo_db: Database[dict[str, Any]], order_id: str) -> dict[str, Any]:
    return mongo_db["payments"].find_one({"orderId": order_id}) or {}
