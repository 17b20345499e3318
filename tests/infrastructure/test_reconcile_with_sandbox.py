"""Reconcile against the Stripe sandbox with webhook delivery off and the real shop.

The payments and orders must end where the webhooks would have put them, and a
second run must change nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from application.apply_stripe_event import ApplyStripeEvent
from application.checkout import CreateCheckoutSession
from application.fulfilment import SettlePayment
from application.identity import Caller
from application.ledger import PaymentLedger
from application.reconcile import Reconcile
from domain.lifecycle import FailedPaymentPolicy, PaymentStatus
from domain.payment import payment_id_for
from infrastructure.event_store.open_payments_index import FollowedOpenPayments
from infrastructure.neighbours.inventory import HttpInventory
from infrastructure.neighbours.order_directory import HttpOrderDirectory
from infrastructure.stripe.checkout_gateway import StripeCheckoutGateway
from tests.fakes import FixedClock
from tests.fixtures.shop import CABLE, KEYBOARD, RunningShop
from tests.fixtures.stripe_sandbox import RunningStripeSandbox, StripeSandboxFactory

SESSION_LIFETIME = 25 * 3600  # past any expires_at Stripe allows (30 min to 24 h)


@dataclass
class Service:
    """The payment service's use cases over the sandbox and the shop, as composition wires them."""

    ledger: PaymentLedger
    shop: RunningShop
    stripe: RunningStripeSandbox
    gateway: StripeCheckoutGateway
    orders: HttpOrderDirectory
    inventory: HttpInventory

    async def checkout(self) -> tuple[str, str]:
        order = self.shop.create_order(self.shop.login(), [(KEYBOARD, 1), (CABLE, 2)])
        create = CreateCheckoutSession(
            self.ledger, self.orders, self.gateway, FixedClock(datetime.now(UTC))
        )
        link = await create(Caller(order["userId"], "buyer@example.com"), order["_id"])
        return order["_id"], link.session_id

    def reconcile(self, clock: FixedClock, lookback: timedelta = timedelta(days=3)) -> Reconcile:
        apply = ApplyStripeEvent(self.ledger, FailedPaymentPolicy.CANCEL)
        return Reconcile(
            self.ledger, self.gateway, apply, clock, FollowedOpenPayments(self.ledger),
            lookback=lookback,
        )

    async def settle(self, order_id: str) -> None:
        settle = SettlePayment(self.ledger, self.orders, self.inventory, self.gateway)
        await settle(payment_id_for(order_id))

    def status(self, order_id: str) -> PaymentStatus:
        payment = self.ledger.find(order_id)
        assert payment is not None
        return payment.status


@pytest.fixture
async def service(
    ledger: PaymentLedger, shop: RunningShop, stripe_sandbox_factory: StripeSandboxFactory
) -> AsyncIterator[Service]:
    stripe = stripe_sandbox_factory(deliver=False)
    gateway = StripeCheckoutGateway(
        stripe.api_key, api_base=stripe.url, frontend_url="http://shop.test",
        clock=FixedClock(datetime.now(UTC)), max_network_retries=0,
    )  # fmt: skip
    token = shop.internal_token
    orders = HttpOrderDirectory(shop.url, internal_token=token, timeout_seconds=5)
    inventory = HttpInventory(shop.url, internal_token=token, timeout_seconds=5)
    yield Service(ledger, shop, stripe, gateway, orders, inventory)
    await gateway.aclose()
    await orders.aclose()
    await inventory.aclose()


async def test_undelivered_events_settle_orders_as_webhooks_would(service: Service) -> None:
    paid, paid_session = await service.checkout()
    lapsed, _ = await service.checkout()
    assert service.stripe.pay(paid_session)["result"] == "paid"
    service.stripe.advance_clock(SESSION_LIFETIME)  # the other session expires at Stripe
    clock = FixedClock(datetime.now(UTC))

    first = await service.reconcile(clock)()
    for order_id in (paid, lapsed):
        await service.settle(order_id)
    second = await service.reconcile(clock)()

    assert {c.order_id: c.status_after for c in first.changes} == {
        paid: "SUCCESS", lapsed: "FAILED",
    }
    assert (service.status(paid), service.status(lapsed)) == (
        PaymentStatus.SUCCESS, PaymentStatus.FAILED,
    )
    assert service.shop.order(paid)["status"] == "CONFIRMED"
    assert service.shop.order(lapsed)["status"] == "CANCELLED"
    assert service.shop.effects(lapsed)["released"] == {KEYBOARD: 1, CABLE: 2}
    assert second.changes == [] and second.errors == []


async def test_overdue_sessions_are_read_back_from_stripe(service: Service) -> None:
    paid, paid_session = await service.checkout()
    lapsed, _ = await service.checkout()
    open_still, _ = await service.checkout()
    assert service.stripe.pay(paid_session)["result"] == "paid"
    service.stripe.advance_clock(SESSION_LIFETIME)
    # Looking back zero days hides Stripe's event list: only the session sweep can help.
    later = FixedClock(datetime.now(UTC) + timedelta(hours=1))

    first = await service.reconcile(later, lookback=timedelta(0))()
    second = await service.reconcile(later, lookback=timedelta(0))()

    assert first.undelivered_seen == 0
    assert {c.event_id for c in first.changes} >= {f"reconcile:{paid_session}:paid"}
    assert service.status(paid) is PaymentStatus.SUCCESS
    assert service.status(lapsed) is PaymentStatus.FAILED
    assert service.status(open_still) is PaymentStatus.FAILED  # all unpaid sessions lapsed
    assert second.changes == []
    await service.settle(paid)
    assert service.shop.order(paid)["status"] == "CONFIRMED"
