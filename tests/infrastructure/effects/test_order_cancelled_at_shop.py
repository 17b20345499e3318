"""Money for an order cancelled elsewhere, against the real reference shop (issue 11 item 3).

The shop refuses CONFIRMED for a CANCELLED order (409); the payment service then reads
the order, finds it CANCELLED, and refunds the money instead of parking the payment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from application.apply_stripe_event import ApplyStripeEvent
from application.fulfilment import EffectsFailed, SettlePayment
from application.ledger import PaymentLedger
from application.stripe_events import decode_stripe_event
from domain.lifecycle import FailedPaymentPolicy, PaymentStatus
from domain.payment import Payment, payment_id_for
from infrastructure.neighbours.inventory import HttpInventory
from infrastructure.neighbours.order_directory import HttpOrderDirectory
from tests.fakes import FakeCheckoutGateway
from tests.fixtures.shop import CABLE, KEYBOARD, RunningShop
from tests.infrastructure.shop_running import running_shop
from tests.stripe_payloads import checkout_event, encode


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningShop]:
    yield from running_shop(tmp_path_factory)


class Service:
    def __init__(self, ledger: PaymentLedger, shop: RunningShop) -> None:
        self.ledger = ledger
        self.shop = shop
        token = shop.internal_token
        self.orders = HttpOrderDirectory(shop.url, internal_token=token, timeout_seconds=5)
        self.inventory = HttpInventory(shop.url, internal_token=token, timeout_seconds=5)
        self.stripe = FakeCheckoutGateway()
        self.settle = SettlePayment(ledger, self.orders, self.inventory, self.stripe)

    async def paid_order(self) -> str:
        """A PENDING order of the shop's, whose payment Stripe has just reported paid."""
        placed = self.shop.create_order(self.shop.login(), [(KEYBOARD, 1), (CABLE, 2)])
        order_id: str = placed["_id"]
        order = await self.orders.get(order_id)
        now = datetime.now(UTC)
        payment = Payment.initiate(
            order, "buyer@example.com", f"cs_{order_id}", "https://checkout.example/x",
            expires_at=now + timedelta(minutes=30), at=now,
        )  # fmt: skip
        self.ledger.record(payment)
        paid = checkout_event(
            "checkout.session.completed", order_id, f"cs_{order_id}",
            amount_total=order.total.minor, currency=order.total.currency,
            payment_intent=f"pi_{order_id}",
        )  # fmt: skip
        ApplyStripeEvent(self.ledger, FailedPaymentPolicy.CANCEL).apply(
            decode_stripe_event(encode(paid))
        )
        return order_id

    def set_status_elsewhere(self, order_id: str, status: str) -> None:
        """What another service (an admin, a fraud check) does through the order service."""
        self.shop.http.patch(
            f"/internal/orders/{order_id}/status",
            json={"status": status},
            headers=self.shop.internal_headers(),
        ).raise_for_status()

    def payment(self, order_id: str) -> Payment:
        payment = self.ledger.find(order_id)
        assert payment is not None
        return payment

    async def aclose(self) -> None:
        await self.orders.aclose()
        await self.inventory.aclose()


@pytest.fixture
async def service(ledger: PaymentLedger, shop: RunningShop) -> AsyncIterator[Service]:
    service = Service(ledger, shop)
    yield service
    await service.aclose()


async def test_money_for_an_order_the_shop_cancelled_is_refunded(service: Service) -> None:
    order_id = await service.paid_order()
    service.set_status_elsewhere(order_id, "CANCELLED")

    await service.settle(payment_id_for(order_id))

    payment = service.payment(order_id)
    assert payment.status is PaymentStatus.REFUNDED
    assert service.stripe.refunds == [(f"pi_{order_id}", payment.amount, f"refund:pi_{order_id}")]
    refused = service.shop.calls(order_id, "order_status")
    assert [(c["body"]["status"], c["status"]) for c in refused][-1] == ("CONFIRMED", 409)
    assert service.shop.order(order_id)["status"] == "CANCELLED"
    assert service.shop.effects(order_id)["released"] == {}  # its stock is not ours to give


async def test_a_refusal_other_than_a_cancellation_stays_parked(service: Service) -> None:
    """Refused (403) for an order that is not CANCELLED: nothing recorded, parked."""
    order_id = await service.paid_order()
    service.set_status_elsewhere(order_id, "CONFIRMED")
    service.shop.set_fault("order_status", status=403)
    try:
        with pytest.raises(EffectsFailed) as failed:
            await service.settle(payment_id_for(order_id))
    finally:
        service.shop.clear_faults()

    assert failed.value.refused
    assert service.payment(order_id).status is PaymentStatus.SUCCESS
    assert service.stripe.refunds == []
