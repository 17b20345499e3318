"""The effects pipeline against the real reference shop over HTTP, on both event stores."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from application.apply_stripe_event import ApplyStripeEvent
from application.ledger import PaymentLedger
from application.stripe_events import decode_stripe_event
from domain.lifecycle import FailedPaymentPolicy
from domain.payment import Payment
from infrastructure.effects.backoff import Backoff
from infrastructure.effects.effect_workers import WorkerSettings
from infrastructure.effects.pipeline import effects_pipeline_for
from infrastructure.effects.queue_for_store import due_payments_for
from infrastructure.event_store.log_follower import FollowerTimings
from infrastructure.neighbours.inventory import HttpInventory
from infrastructure.neighbours.order_directory import HttpOrderDirectory
from tests.fakes import FakeCheckoutGateway
from tests.fixtures.shop import CABLE, KEYBOARD, RunningShop
from tests.infrastructure.effects.queue_world import eventually, owes_nothing
from tests.infrastructure.shop_running import running_shop
from tests.stripe_payloads import checkout_event, encode

OUTAGE_SECONDS = 20  # the scenario: the order service answers 500 for 20 s
SETTLE_WITHIN = OUTAGE_SECONDS + 30
SETTINGS = WorkerSettings(
    concurrency=8, lease_seconds=10.0, poll_interval=0.1, backoff=Backoff(0.1, 1.0)
)
TIMINGS = FollowerTimings(poll_interval=0.1)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningShop]:
    yield from running_shop(tmp_path_factory)


@pytest.fixture(autouse=True)
def no_faults_left_over(shop: RunningShop) -> Iterator[None]:
    """The shop is shared by the module: no test starts or ends with a fault armed."""
    shop.clear_faults()
    yield
    shop.clear_faults()


class Service:
    """The payment service's effects pipeline wired to the shop, as the composition root does."""

    def __init__(self, ledger: PaymentLedger, shop: RunningShop) -> None:
        self.ledger = ledger
        token = shop.internal_token
        self.orders = HttpOrderDirectory(shop.url, internal_token=token, timeout_seconds=2)
        self.inventory = HttpInventory(shop.url, internal_token=token, timeout_seconds=2)
        self.pipeline = effects_pipeline_for(
            ledger, self.orders, self.inventory, FakeCheckoutGateway(), SETTINGS, TIMINGS
        )

    async def open_payment(self, order_id: str) -> None:
        order = await self.orders.get(order_id)
        now = datetime.now(UTC)
        payment = Payment.initiate(
            order, "buyer@example.com", f"cs_{order_id}", "https://checkout.example/x",
            expires_at=now + timedelta(minutes=30), at=now,
        )  # fmt: skip
        self.ledger.record(payment)

    def stripe_says(self, event_type: str, order_id: str) -> None:
        payment = self.ledger.find(order_id)
        assert payment is not None
        payload = checkout_event(
            event_type, order_id, f"cs_{order_id}",
            amount_total=payment.amount.minor, currency=payment.amount.currency,
        )  # fmt: skip  # Stripe charges the order's own total
        ApplyStripeEvent(self.ledger, FailedPaymentPolicy.CANCEL).apply(
            decode_stripe_event(encode(payload))
        )

    async def settled(self, *order_ids: str) -> None:
        """Every effect of these orders recorded, and their rows gone from the queue."""
        await eventually(owes_nothing(self.ledger, *order_ids), "settled", SETTLE_WITHIN)
        queue = due_payments_for(self.ledger)
        await eventually(lambda: queue.depth().due == 0, "queue drained", SETTLE_WITHIN)

    async def aclose(self) -> None:
        await self.pipeline.stop()
        await self.orders.aclose()
        await self.inventory.aclose()


@pytest.fixture
async def service(ledger: PaymentLedger, shop: RunningShop) -> AsyncIterator[Service]:
    service = Service(ledger, shop)
    yield service
    await service.aclose()


def place_order(shop: RunningShop) -> dict[str, Any]:
    return shop.create_order(shop.login(), [(KEYBOARD, 1), (CABLE, 2)])


async def until_settled(shop: RunningShop, order_id: str, outcome: str) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + SETTLE_WITHIN
    while asyncio.get_running_loop().time() < deadline:
        effects = await asyncio.to_thread(shop.effects, order_id)
        if effects[outcome]:
            return effects
        await asyncio.sleep(0.2)
    raise AssertionError(f"order {order_id} never {outcome}")


async def test_an_order_service_outage_delays_effects_but_loses_none(
    service: Service, shop: RunningShop
) -> None:
    paid, expired = place_order(shop)["_id"], place_order(shop)["_id"]
    keyboards = shop.stock(KEYBOARD)
    await service.open_payment(paid)
    await service.open_payment(expired)
    shop.set_fault("order_status", status=500, seconds=OUTAGE_SECONDS)
    service.stripe_says("checkout.session.completed", paid)
    service.stripe_says("checkout.session.expired", expired)

    await service.pipeline.start()
    confirmed = await until_settled(shop, paid, "confirmed")
    cancelled = await until_settled(shop, expired, "cancelled")

    assert any(call["status"] == 500 for call in shop.calls(paid, "order_status"))
    assert (confirmed["confirmed"], confirmed["cancelled"]) == (1, 0)
    assert [c["to"] for c in confirmed["statusChanges"]] == ["CONFIRMED"]
    assert [c["to"] for c in cancelled["statusChanges"]] == ["CANCELLED"]
    assert cancelled["released"] == {KEYBOARD: 1, CABLE: 2}
    assert shop.stock(KEYBOARD) == keyboards + 1
    assert shop.order(paid)["status"] == "CONFIRMED"
    await service.settled(paid, expired)


async def test_an_order_the_shop_refuses_to_confirm_is_parked_not_recorded(
    service: Service, shop: RunningShop
) -> None:
    refused, next_one = place_order(shop)["_id"], place_order(shop)["_id"]
    await service.open_payment(refused)
    await service.open_payment(next_one)
    shop.set_fault("order_status", status=409, times=1)
    service.stripe_says("checkout.session.completed", refused)
    queue = due_payments_for(service.ledger)

    await service.pipeline.start()
    await eventually(lambda: queue.depth().parked == 1, "parked")
    service.stripe_says("checkout.session.completed", next_one)
    await until_settled(shop, next_one, "confirmed")

    assert shop.order(refused)["status"] == "PENDING"
    assert [c["status"] for c in shop.calls(refused, "order_status")] == [409]
    parked = service.ledger.find(refused)
    assert parked is not None and not parked.order_confirmed
    assert queue.depth().parked == 1


# What the neighbours answer: a success, but not in the documented shape.
SUCCESSES = {
    "200 {}": {"status": 200, "body": "{}"},
    "200 empty": {"status": 200, "body": ""},
    "204": {"status": 204},
    '200 {"ok": true}': {"status": 200, "body": '{"ok": true}'},
}


@pytest.mark.parametrize("reply", SUCCESSES.values(), ids=SUCCESSES.keys())
async def test_any_success_from_the_neighbours_settles_every_payment_once(
    service: Service, shop: RunningShop, reply: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    paid, expired = place_order(shop)["_id"], place_order(shop)["_id"]
    await service.open_payment(paid)
    await service.open_payment(expired)
    shop.set_fault("order_status", mode="reply", **reply)
    shop.set_fault("release", mode="reply", **reply)
    service.stripe_says("checkout.session.completed", paid)
    service.stripe_says("checkout.session.expired", expired)

    with caplog.at_level(logging.WARNING):
        await service.pipeline.start()
        await service.settled(paid, expired)

    assert [c["to"] for c in shop.effects(paid)["statusChanges"]] == ["CONFIRMED"]
    assert [c["to"] for c in shop.effects(expired)["statusChanges"]] == ["CANCELLED"]
    assert shop.effects(expired)["released"] == {KEYBOARD: 1, CABLE: 2}
    # Each effect asked for once: none was taken for a failure and repeated.
    assert [c["status"] for c in shop.calls(paid, "order_status")] == [reply["status"]]
    assert len(shop.calls(expired, "order_status")) == 1
    assert sorted(c["body"]["productId"] for c in shop.calls(expired, "release")) == sorted(
        [KEYBOARD, CABLE]
    )
    assert caplog.records == []


async def test_a_reply_naming_another_order_is_a_warning_and_the_payment_settles_once(
    service: Service, shop: RunningShop, caplog: pytest.LogCaptureFixture
) -> None:
    paid, expired, other = (place_order(shop)["_id"] for _ in range(3))
    await service.open_payment(paid)
    await service.open_payment(expired)
    other_order = json.dumps({"order": shop.order(other)})
    other_release = json.dumps({"orderId": other, "productId": KEYBOARD, "released": 1})
    shop.set_fault("order_status", mode="reply", body=other_order)
    shop.set_fault("release", mode="reply", body=other_release)
    service.stripe_says("checkout.session.completed", paid)
    service.stripe_says("checkout.session.expired", expired)

    with caplog.at_level(logging.WARNING):
        await service.pipeline.start()
        await service.settled(paid, expired)

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(paid in w and other in w for w in warnings), warnings
    assert any(expired in w and other in w and "CANCELLED" in w for w in warnings), warnings
    assert sum(expired in w and other in w for w in warnings) == 3  # two releases, one cancel
    assert len(warnings) == 4  # one per call: none was repeated
    assert len(shop.calls(paid, "order_status")) == 1
    assert len(shop.calls(expired, "release")) == 2
    assert len(shop.calls(expired, "order_status")) == 1
    assert shop.order(paid)["status"] == "CONFIRMED"
    assert shop.order(other)["status"] == "PENDING"  # the reply's order was never touched
    assert shop.calls(other) == []
