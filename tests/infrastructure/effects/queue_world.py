"""A store, its payments and effect pipelines over fakes, for the effects-queue tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from application.apply_stripe_event import ApplyStripeEvent
from application.errors import OrderServiceUnavailable, ServiceRejected
from application.ledger import PaymentLedger
from application.stripe_events import decode_stripe_event
from domain.lifecycle import FailedPaymentPolicy
from domain.money import Money
from domain.order import OrderStatus
from domain.payment import Payment
from infrastructure.effects.backoff import Backoff
from infrastructure.effects.effect_workers import WorkerSettings
from infrastructure.effects.pipeline import EffectsPipeline, effects_pipeline_for
from infrastructure.event_store.log_follower import FollowerTimings
from tests.fakes import FakeCheckoutGateway, FakeInventory, FakeOrderDirectory, an_order
from tests.stripe_payloads import checkout_event, encode

QUICK = WorkerSettings(
    concurrency=8,
    lease_seconds=5.0,
    poll_interval=0.05,
    alert_after=0.0,
    parked_retry_interval=3600.0,
    backoff=Backoff(base=0.01, cap=0.05),
)
ORDER_TOTAL = Money(20498, "usd")  # an_order()'s lines
QUICK_FOLLOW = FollowerTimings(poll_interval=0.05, backoff=Backoff(base=0.01, cap=0.05))


@dataclass
class FlakyOrders(FakeOrderDirectory):
    """An order service that fails some orders for a while, or refuses them outright."""

    failing: set[str] = field(default_factory=set)
    failures_left: int = 0
    rejected: set[str] = field(default_factory=set)
    calls: list[tuple[str, str]] = field(default_factory=list)
    latency: float = 0.0  # seconds a call takes, as a real service's would

    async def set_status(self, order_id: str, status: OrderStatus) -> None:
        self.calls.append((order_id, status))
        if self.latency:
            await asyncio.sleep(self.latency)
        if order_id in self.rejected:
            raise ServiceRejected(f"PATCH /internal/orders/{order_id}/status: HTTP 409")
        if order_id in self.failing:
            raise OrderServiceUnavailable("order service answered 503")
        if self.failures_left:
            self.failures_left -= 1
            raise OrderServiceUnavailable("order service answered 500")
        await super().set_status(order_id, status)


@dataclass
class RefusingInventory(FakeInventory):
    refused: set[str] = field(default_factory=set)
    request_ids: int = 0

    async def release(self, order_id: str, product_id: str, quantity: int) -> None:
        if order_id in self.refused:
            self.request_ids += 1
            refusal = f"POST /internal/inventory/release: HTTP 409 req_{self.request_ids}"
            raise ServiceRejected(refusal)
        await super().release(order_id, product_id, quantity)


class Neighbours:
    def __init__(self) -> None:
        self.orders = FlakyOrders()
        self.inventory = RefusingInventory()
        self.checkout = FakeCheckoutGateway()

    def pipeline(self, ledger: PaymentLedger, settings: WorkerSettings = QUICK) -> EffectsPipeline:
        return effects_pipeline_for(
            ledger, self.orders, self.inventory, self.checkout, settings, QUICK_FOLLOW
        )


def open_payment(ledger: PaymentLedger, order_id: str) -> None:
    payment = Payment.initiate(
        an_order(order_id),
        user_email="buyer@example.com",
        checkout_session_id=f"cs_{order_id}",
        checkout_url=f"https://checkout.example/cs_{order_id}",
        expires_at=datetime.now(UTC) + timedelta(minutes=30),
        at=datetime.now(UTC),
    )
    ledger.record(payment)


def stripe_says(
    ledger: PaymentLedger, event_type: str, order_id: str, amount: Money = ORDER_TOTAL
) -> None:
    payload = checkout_event(
        event_type, order_id, f"cs_{order_id}", amount_total=amount.minor, currency=amount.currency
    )
    ApplyStripeEvent(ledger, FailedPaymentPolicy.CANCEL).apply(decode_stripe_event(encode(payload)))


def paid(ledger: PaymentLedger, order_id: str, amount: Money = ORDER_TOTAL) -> None:
    open_payment(ledger, order_id)
    stripe_says(ledger, "checkout.session.completed", order_id, amount)


def expired(ledger: PaymentLedger, order_id: str) -> None:
    open_payment(ledger, order_id)
    stripe_says(ledger, "checkout.session.expired", order_id)


async def eventually(condition: Callable[[], bool], what: str, within: float = 20.0) -> None:
    """Waits for something the workers do in the background (not a speed test)."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)


def owes_nothing(ledger: PaymentLedger, *order_ids: str) -> Callable[[], bool]:
    def check() -> bool:
        payments = [ledger.find(order_id) for order_id in order_ids]
        return all(p is not None and not p.pending_effects() for p in payments)

    return check
