"""Reconcile against the Stripe sandbox with webhook delivery off and the real shop.

The payments and orders must end where the webhooks would have put them, and a
second run must change nothing: payments, refunds and disputes alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from msgspec.structs import replace as msgspec_replace

from application.apply_stripe_event import ApplyStripeEvent
from application.checkout import CreateCheckoutSession
from application.fulfilment import SettlePayment
from application.identity import Caller
from application.ledger import PaymentLedger
from application.reconcile import Reconcile
from domain.lifecycle import FailedPaymentPolicy, PaymentStatus
from domain.payment import Payment, payment_id_for
from domain.refund import RefundStatus
from infrastructure.event_store.open_payments_index import FollowedOpenPayments
from infrastructure.event_store.unsettled_money_back_index import FollowedUnsettledMoneyBack
from infrastructure.neighbours.inventory import HttpInventory
from infrastructure.neighbours.order_directory import HttpOrderDirectory
from infrastructure.stripe.checkout_gateway import StripeCheckoutGateway
from tests.fakes import FixedClock
from tests.fixtures.shop import CABLE, KEYBOARD, RunningShop
from tests.fixtures.stripe_sandbox import RunningStripeSandbox, StripeSandboxFactory

SESSION_LIFETIME = 25 * 3600  # past any expires_at Stripe allows (30 min to 24 h)
REFUND_STAYS_PENDING = "4000000000007726"  # the sandbox's card whose refunds start pending


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
        apply = ApplyStripeEvent(self.ledger, FailedPaymentPolicy.CANCEL, self.gateway)
        return Reconcile(
            self.ledger,
            self.gateway,
            apply,
            clock,
            FollowedOpenPayments(self.ledger),
            lookback=lookback,
            unsettled=FollowedUnsettledMoneyBack(self.ledger),
        )

    async def settle(self, order_id: str) -> None:
        settle = SettlePayment(self.ledger, self.orders, self.inventory, self.gateway)
        await settle(payment_id_for(order_id))

    def status(self, order_id: str) -> PaymentStatus:
        return self.payment(order_id).status

    def payment(self, order_id: str) -> Payment:
        payment = self.ledger.find(order_id)
        assert payment is not None
        return payment


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
        paid: "SUCCESS",
        lapsed: "FAILED",
    }
    assert (service.status(paid), service.status(lapsed)) == (
        PaymentStatus.SUCCESS,
        PaymentStatus.FAILED,
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


async def test_missed_refund_and_dispute_news_is_read_back_from_stripe(service: Service) -> None:
    refunded, refunded_session = await service.checkout()
    disputed, disputed_session = await service.checkout()
    service.stripe.pay(refunded_session, card_number=REFUND_STAYS_PENDING)
    service.stripe.pay(disputed_session)
    now = FixedClock(datetime.now(UTC))
    await service.reconcile(now)()  # both paid
    payment = service.payment(refunded)
    payment.request_refund("rf_sandbox", None, "requested_by_customer")
    service.ledger.record(payment)
    for order_id in (refunded, disputed):
        await service.settle(order_id)  # confirmed; the refund made, pending at Stripe
    refund = service.payment(refunded).refund("rf_sandbox")
    assert refund is not None and refund.status is RefundStatus.PENDING
    dispute = service.stripe.admin(
        "POST", "/_sandbox/disputes", {"checkout_session": disputed_session}
    )
    opened = await service.reconcile(now)()
    assert [c.event_type for c in opened.changes] == ["charge.dispute.created"]
    # The bank returns the refund and the cardholder wins: no webhook reaches the service.
    service.stripe.admin("POST", f"/_sandbox/refunds/{refund.stripe_refund_id}/fail")
    service.stripe.admin("POST", f"/_sandbox/disputes/{dispute['id']}/lose")

    # Stripe's event list hidden (looking back zero): only reading back can tell.
    later = FixedClock(datetime.now(UTC) + timedelta(hours=2))
    read_back = await service.reconcile(later, lookback=timedelta(0))()
    from_events = await service.reconcile(now)()
    again = await service.reconcile(later, lookback=timedelta(0))()

    assert {(c.order_id, c.event_id, c.status_after) for c in read_back.changes} == {
        (refunded, f"reconcile:{refund.stripe_refund_id}:failed", "SUCCESS"),
        (disputed, f"reconcile:{dispute['id']}:lost", "REFUNDED"),
    }
    assert (read_back.refunds_checked, read_back.disputes_checked) == (1, 1)
    after = service.payment(refunded)
    assert after.refund("rf_sandbox") == msgspec_replace(refund, status=RefundStatus.FAILED)
    assert after.refundable == after.received
    lost = service.payment(disputed).dispute
    assert lost is not None and lost.status == "lost"
    # The real events, listed by Stripe as never delivered, are no news any more.
    assert from_events.undelivered_seen > 0
    assert (from_events.changes, from_events.errors) == ([], [])
    assert (again.changes, again.refunds_checked, again.disputes_checked) == ([], 0, 0)
    assert service.shop.order(refunded)["status"] == "CONFIRMED"  # a refund is money only
