"""The processor against the real reference shop over HTTP, on both event stores."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from application.apply_stripe_event import ApplyStripeEvent
from application.fulfilment import SettlePayment
from application.ledger import PaymentLedger
from application.stripe_events import decode_stripe_event
from domain.lifecycle import FailedPaymentPolicy
from domain.payment import Payment, payment_id_for
from infrastructure.effects.backoff import Backoff
from infrastructure.effects.processor_leadership import leadership_for
from infrastructure.effects.processor_runner import PaymentProcessor, ProcessorSettings
from infrastructure.neighbours.inventory_ledger import HttpInventoryLedger
from infrastructure.neighbours.order_directory import HttpOrderDirectory
from tests.fakes import FakeCheckoutGateway
from tests.fixtures.shop import CABLE, KEYBOARD, RunningShop
from tests.stripe_payloads import checkout_event, encode

OUTAGE_SECONDS = 20  # the scenario: the order service answers 500 for 20 s


class Service:
    """The payment service's processor wired to the shop, as the composition root does."""

    def __init__(self, ledger: PaymentLedger, shop: RunningShop) -> None:
        self.ledger = ledger
        token = shop.internal_token
        self.orders = HttpOrderDirectory(shop.url, internal_token=token, timeout_seconds=2)
        self.inventory = HttpInventoryLedger(shop.url, internal_token=token, timeout_seconds=2)
        settle = SettlePayment(ledger, self.orders, self.inventory, FakeCheckoutGateway())
        settings = ProcessorSettings(backoff=Backoff(0.1, 1.0), poll_interval=0.1)
        self.processor = PaymentProcessor(ledger, settle, leadership_for(ledger.env), settings)

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

    async def aclose(self) -> None:
        await self.processor.stop()
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
    deadline = asyncio.get_running_loop().time() + OUTAGE_SECONDS + 30
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

    await service.processor.start()
    confirmed = await until_settled(shop, paid, "confirmed")
    cancelled = await until_settled(shop, expired, "cancelled")

    assert any(call["status"] == 500 for call in shop.calls(paid, "order_status"))
    assert (confirmed["confirmed"], confirmed["cancelled"]) == (1, 0)
    assert [c["to"] for c in confirmed["statusChanges"]] == ["CONFIRMED"]
    assert [c["to"] for c in cancelled["statusChanges"]] == ["CANCELLED"]
    assert cancelled["released"] == {KEYBOARD: 1, CABLE: 2}
    assert shop.stock(KEYBOARD) == keyboards + 1
    assert shop.order(paid)["status"] == "CONFIRMED"
    settled = service.ledger.find(paid)
    assert settled is not None and settled.pending_effects() == []


async def test_an_order_the_shop_refuses_to_confirm_is_parked_not_recorded(
    service: Service, shop: RunningShop
) -> None:
    refused, next_one = place_order(shop)["_id"], place_order(shop)["_id"]
    await service.open_payment(refused)
    await service.open_payment(next_one)
    shop.set_fault("order_status", status=409, times=1)
    service.stripe_says("checkout.session.completed", refused)
    service.stripe_says("checkout.session.completed", next_one)

    await service.processor.start()
    await until_settled(shop, next_one, "confirmed")

    assert shop.order(refused)["status"] == "PENDING"
    assert payment_id_for(refused) in service.processor.parked
    parked = service.ledger.find(refused)
    assert parked is not None and not parked.order_confirmed
