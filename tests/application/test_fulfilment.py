"""SettlePayment: each effect a payment owes is performed and recorded once, in order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from application.apply_stripe_event import ApplyStripeEvent
from application.checkout import CreateCheckoutSession
from application.errors import (
    InventoryServiceUnavailable,
    OrderServiceUnavailable,
    ServiceRejected,
)
from application.fulfilment import EffectsFailed, SettlePayment
from application.identity import Caller
from application.ledger import PaymentLedger
from application.ports import EffectMeter, RefundReceipt
from application.stripe_events import decode_stripe_event
from domain.effects import Effect
from domain.lifecycle import FailedPaymentPolicy, PaymentStatus
from domain.money import Money
from domain.order import OrderStatus
from domain.payment import Payment, payment_id_for
from tests.fakes import (
    FakeCheckoutGateway,
    FakeInventory,
    FakeOrderDirectory,
    FixedClock,
    an_order,
)
from tests.stripe_payloads import checkout_event, encode, payment_failed_event

ORDER = "ord_1"


@dataclass
class Journal:
    """The calls made to every neighbour, in the order they were made."""

    calls: list[str] = field(default_factory=list)


@dataclass
class JournalledOrders(FakeOrderDirectory):
    journal: Journal = field(default_factory=Journal)

    async def set_status(self, order_id: str, status: OrderStatus) -> None:
        await super().set_status(order_id, status)
        self.journal.calls.append(f"order {status}")


@dataclass
class JournalledInventory(FakeInventory):
    journal: Journal = field(default_factory=Journal)
    failures_left: int = 0
    refusals_left: int = 0

    async def release(self, order_id: str, product_id: str, quantity: int) -> None:
        if self.refusals_left:
            self.refusals_left -= 1
            raise ServiceRejected("POST /internal/inventory/release: HTTP 409")
        if self.failures_left:
            self.failures_left -= 1
            raise InventoryServiceUnavailable("inventory answered 503")
        await super().release(order_id, product_id, quantity)
        self.journal.calls.append(f"release {product_id}")


@dataclass
class JournalledCheckout(FakeCheckoutGateway):
    journal: Journal = field(default_factory=Journal)

    async def expire_session(self, session_id: str) -> str:
        outcome = await super().expire_session(session_id)
        self.journal.calls.append(f"expire {session_id}")
        return outcome

    async def refund(
        self,
        payment_intent: str,
        amount: Money,
        idempotency_key: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> RefundReceipt:
        receipt = await super().refund(
            payment_intent, amount, idempotency_key, reason=reason, metadata=metadata
        )
        self.journal.calls.append(f"refund {payment_intent}")
        return receipt


class World:
    """A payment service on a real event store, with fake neighbours that keep a journal."""

    def __init__(self, ledger: PaymentLedger) -> None:
        self.ledger = ledger
        self.journal = Journal()
        self.orders = JournalledOrders(journal=self.journal)
        self.inventory = JournalledInventory(journal=self.journal)
        self.checkout = JournalledCheckout(journal=self.journal)
        self.orders.add(an_order(ORDER))
        self.settle = SettlePayment(ledger, self.orders, self.inventory, self.checkout)
        self.session_id = ""

    async def open_payment(self) -> None:
        create = CreateCheckoutSession(self.ledger, self.orders, self.checkout, FixedClock())
        link = await create(Caller("user_1", "buyer@example.com"), ORDER)
        self.session_id = link.session_id

    def stripe_says(self, event_type: str, **fields: Any) -> None:
        payload = checkout_event(event_type, ORDER, self.session_id, **fields)
        ApplyStripeEvent(self.ledger, FailedPaymentPolicy.CANCEL).apply(
            decode_stripe_event(encode(payload))
        )

    def card_declined(self) -> None:
        ApplyStripeEvent(self.ledger, FailedPaymentPolicy.CANCEL).apply(
            decode_stripe_event(encode(payment_failed_event(ORDER)))
        )

    def payment(self) -> Payment:
        payment = self.ledger.find(ORDER)
        assert payment is not None
        return payment

    def recorded(self) -> list[str]:
        names = (type(e).__qualname__ for e in self.ledger.history(payment_id_for(ORDER)))
        return [n.removeprefix("Payment.") for n in names]


@pytest.fixture
async def world(ledger: PaymentLedger) -> World:
    world = World(ledger)
    await world.open_payment()
    return world


async def test_success_confirms_the_order_once(world: World) -> None:
    world.stripe_says("checkout.session.completed")

    performed = await world.settle(payment_id_for(ORDER))

    assert performed == 1
    assert world.journal.calls == ["order CONFIRMED"]
    assert world.recorded()[-1] == "OrderConfirmed"
    assert world.payment().pending_effects() == []


async def test_expiry_releases_each_item_once_then_cancels(world: World) -> None:
    world.stripe_says("checkout.session.expired")

    await world.settle(payment_id_for(ORDER))

    assert world.journal.calls == ["release prod_a", "release prod_b", "order CANCELLED"]
    assert world.inventory.releases == [(ORDER, "prod_a", 2), (ORDER, "prod_b", 1)]
    assert world.recorded()[-3:] == ["InventoryReleased", "InventoryReleased", "OrderCancelled"]
    assert world.payment().status is PaymentStatus.FAILED


async def test_declined_card_expires_the_session_before_giving_stock_back(world: World) -> None:
    world.card_declined()

    await world.settle(payment_id_for(ORDER))

    assert world.journal.calls == [
        f"expire {world.session_id}",
        "release prod_a",
        "release prod_b",
        "order CANCELLED",
    ]
    assert "CheckoutClosed" in world.recorded()


async def test_money_after_cancellation_is_refunded_once(world: World) -> None:
    world.stripe_says("checkout.session.expired")
    await world.settle(payment_id_for(ORDER))
    world.stripe_says("checkout.session.completed")

    await world.settle(payment_id_for(ORDER))
    await world.settle(payment_id_for(ORDER))

    assert world.checkout.refunds == [("pi_test_1", Money(20498, "usd"), "refund:pi_test_1")]
    assert world.payment().status is PaymentStatus.REFUNDED
    assert world.orders.statuses_set == [(ORDER, "CANCELLED")]


async def test_settling_again_changes_nothing(world: World) -> None:
    world.stripe_says("checkout.session.expired")
    await world.settle(payment_id_for(ORDER))
    version = world.payment().version

    performed = await world.settle(payment_id_for(ORDER))

    assert performed == 0
    assert world.payment().version == version
    assert len(world.journal.calls) == 3


async def test_an_open_or_unknown_payment_owes_nothing(world: World) -> None:
    assert await world.settle(payment_id_for(ORDER)) == 0
    assert await world.settle(payment_id_for("ord_nobody")) == 0
    assert world.journal.calls == []


async def test_a_failing_call_records_nothing_and_succeeds_later(world: World) -> None:
    world.stripe_says("checkout.session.completed")
    world.orders.down = True

    with pytest.raises(EffectsFailed) as failed:
        await world.settle(payment_id_for(ORDER))
    assert not failed.value.refused
    assert isinstance(failed.value.failures[0][1], OrderServiceUnavailable)
    assert world.payment().pending_effects() != []

    world.orders.down = False
    await world.settle(payment_id_for(ORDER))

    assert world.orders.statuses_set == [(ORDER, "CONFIRMED")]
    assert world.recorded().count("OrderConfirmed") == 1


async def test_facts_before_a_failure_stay_recorded(world: World) -> None:
    world.stripe_says("checkout.session.expired")
    world.orders.down = True

    with pytest.raises(EffectsFailed):
        await world.settle(payment_id_for(ORDER))
    assert world.recorded().count("InventoryReleased") == 2  # done before the cancellation failed
    world.orders.down = False
    await world.settle(payment_id_for(ORDER))

    assert world.inventory.releases == [(ORDER, "prod_a", 2), (ORDER, "prod_b", 1)]
    assert world.orders.statuses_set == [(ORDER, "CANCELLED")]


async def test_a_release_failing_then_succeeding_is_released_once(world: World) -> None:
    world.stripe_says("checkout.session.expired")
    world.inventory.failures_left = 1

    with pytest.raises(EffectsFailed) as failed:
        await world.settle(payment_id_for(ORDER))
    assert isinstance(failed.value.failures[0][1], InventoryServiceUnavailable)
    await world.settle(payment_id_for(ORDER))

    assert sorted(world.inventory.releases) == [(ORDER, "prod_a", 2), (ORDER, "prod_b", 1)]


async def test_a_refund_is_sent_while_a_release_is_refused(world: World) -> None:
    world.stripe_says("checkout.session.expired")
    world.stripe_says("checkout.session.completed")  # money for a cancelled order
    world.inventory.refusals_left = 10

    with pytest.raises(EffectsFailed) as failed:
        await world.settle(payment_id_for(ORDER))

    assert failed.value.refused
    assert world.checkout.refunds == [("pi_test_1", Money(20498, "usd"), "refund:pi_test_1")]
    assert world.payment().status is PaymentStatus.REFUNDED
    assert not world.payment().order_cancelled  # stock first, then the cancellation


class Crash(Exception):
    """The process died between an HTTP call and the save of its fact."""


async def test_crash_between_call_and_record_repeats_the_call_not_the_fact(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.stripe_says("checkout.session.completed")
    real_record = world.ledger.record
    crashes = [Crash("killed before the save")]

    def record_or_crash(payment: Payment) -> int | None:
        if crashes:
            raise crashes.pop()
        return real_record(payment)

    monkeypatch.setattr(world.ledger, "record", record_or_crash)
    with pytest.raises(Crash):
        await world.settle(payment_id_for(ORDER))
    await world.settle(payment_id_for(ORDER))
    await world.settle(payment_id_for(ORDER))

    assert world.orders.statuses_set == [(ORDER, "CONFIRMED"), (ORDER, "CONFIRMED")]
    assert world.recorded().count("OrderConfirmed") == 1


async def test_a_concurrent_write_does_not_lose_the_fact(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.stripe_says("checkout.session.expired")
    real_record = world.ledger.record
    raced: list[bool] = []

    def record_after_a_rival(payment: Payment) -> int | None:
        if not raced:
            raced.append(True)
            world.stripe_says("checkout.session.completed")  # a webhook saves first
        return real_record(payment)

    monkeypatch.setattr(world.ledger, "record", record_after_a_rival)
    await world.settle(payment_id_for(ORDER))

    assert world.inventory.releases == [(ORDER, "prod_a", 2), (ORDER, "prod_b", 1)]
    assert world.checkout.refunds == [("pi_test_1", Money(20498, "usd"), "refund:pi_test_1")]
    assert world.recorded().count("InventoryReleased") == 2
    assert world.payment().status is PaymentStatus.REFUNDED


@dataclass
class RecordingMeter(EffectMeter):
    """An `EffectMeter` that keeps (effect, outcome) of every call."""

    calls: list[tuple[str, str]] = field(default_factory=list)

    def effect_called(self, effect: Effect, outcome: str, seconds: float) -> None:
        assert seconds >= 0
        self.calls.append((type(effect).__name__, outcome))


async def test_every_effect_call_is_metered_with_its_outcome(world: World) -> None:
    meter = RecordingMeter()
    settle = SettlePayment(world.ledger, world.orders, world.inventory, world.checkout, meter)
    world.stripe_says("checkout.session.expired")
    world.inventory.refusals_left = 1  # one of the two releases is refused
    with pytest.raises(EffectsFailed):
        await settle(payment_id_for(ORDER))
    world.orders.down = True
    with pytest.raises(EffectsFailed):
        await settle(payment_id_for(ORDER))  # the other release, then the cancellation fails
    world.orders.down = False
    await settle(payment_id_for(ORDER))

    assert sorted(meter.calls) == [
        ("CancelOrder", "done"),
        ("CancelOrder", "failed"),
        ("ReleaseStock", "done"),
        ("ReleaseStock", "done"),
        ("ReleaseStock", "refused"),
    ]
