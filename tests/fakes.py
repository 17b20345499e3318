"""In-memory stand-ins for the ports, for unit and application tests.

Each one subclasses the `typing.Protocol` it stands in for (application/ports.py), so
the type checker holds it to its port: a fake cannot drift from what it fakes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import msgspec

from application.errors import (
    CheckoutRejected,
    CheckoutUnavailable,
    OrderNotFound,
    OrderServiceUnavailable,
)
from application.ports import (
    CheckoutGateway,
    CheckoutRequest,
    CheckoutSession,
    Clock,
    Inventory,
    OrderDirectory,
    PaymentIntentState,
    PaymentStatusReport,
    PaymentStatusView,
    RefundReceipt,
)
from application.refund_keys import RefundKey, RefundKeys
from application.stripe_events import DisputeObject, RefundObject, StripeEvent
from domain.money import Money
from domain.order import OrderLine, OrderSnapshot, OrderStatus


def an_order(
    order_id: str = "ord_1",
    user_id: str = "user_1",
    status: str = "PENDING",
    lines: tuple[OrderLine, ...] | None = None,
    currency: str = "usd",
) -> OrderSnapshot:
    lines = lines or (
        OrderLine("prod_a", "Keyboard", 2, Money(9999, currency)),
        OrderLine("prod_b", "Cable", 1, Money(500, currency)),
    )
    total = sum(line.subtotal.minor for line in lines)
    return OrderSnapshot(order_id, user_id, status, lines, Money(total, currency))


@dataclass
class FixedClock(Clock):
    current: datetime = field(default_factory=lambda: datetime(2026, 11, 27, 12, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@dataclass
class FakeOrderDirectory(OrderDirectory):
    orders: dict[str, OrderSnapshot] = field(default_factory=dict)
    statuses_set: list[tuple[str, str]] = field(default_factory=list)
    down: bool = False

    def add(self, order: OrderSnapshot) -> OrderSnapshot:
        self.orders[order.order_id] = order
        return order

    async def get(self, order_id: str) -> OrderSnapshot:
        if self.down:
            raise OrderServiceUnavailable("order service down")
        try:
            return self.orders[order_id]
        except KeyError:
            raise OrderNotFound(order_id) from None

    async def set_status(self, order_id: str, status: OrderStatus) -> None:
        if self.down:
            raise OrderServiceUnavailable("order service down")
        self.statuses_set.append((order_id, status))


@dataclass
class FakeInventory(Inventory):
    releases: list[tuple[str, str, int]] = field(default_factory=list)

    async def release(self, order_id: str, product_id: str, quantity: int) -> None:
        self.releases.append((order_id, product_id, quantity))


@dataclass
class FakeCheckoutGateway(CheckoutGateway):
    """Behaves like Stripe's idempotency: one session per idempotency key."""

    clock: FixedClock = field(default_factory=FixedClock)
    sessions: dict[str, CheckoutSession] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    expired: list[str] = field(default_factory=list)
    refunds: list[tuple[str, Money, str]] = field(default_factory=list)
    refund_requests: list[dict[str, object]] = field(default_factory=list)
    refund_status: str = "succeeded"
    """What Stripe answers a refund with (`pending`, `failed`…)."""
    refusing_refunds: str | None = None
    """Stripe refuses every refund with this code (`charge_disputed`…), a 4xx for good."""
    undelivered: list[StripeEvent] = field(default_factory=list)
    payment_intents: dict[str, PaymentIntentState] = field(default_factory=dict)
    stripe_refunds: dict[str, RefundObject] = field(default_factory=dict)
    """Every refund made, as `GET /v1/refunds/{id}` answers it (`refund_moves_to` moves one)."""
    disputes: dict[str, DisputeObject] = field(default_factory=dict)
    down: bool = False
    calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def open_session(self, request: CheckoutRequest) -> CheckoutSession:
        if self.down:
            raise CheckoutUnavailable("stripe down", request_id="req_fake")
        with self._lock:
            self.calls += 1
            if request.idempotency_key in self.by_key:
                return self.sessions[self.by_key[request.idempotency_key]]
            session_id = f"cs_test_{len(self.sessions) + 1}"
            session = CheckoutSession(
                session_id=session_id,
                url=f"https://checkout.example/{session_id}",
                expires_at=self.clock.now() + timedelta(minutes=30),
                amount_total=request.order.total.minor,
                currency=request.order.total.currency,
                order_id=request.order.order_id,
                attempt=request.idempotency_key,
                created=self.clock.now(),
            )
            self.sessions[session_id] = session
            self.by_key[request.idempotency_key] = session_id
            return session

    async def retrieve_session(self, session_id: str) -> CheckoutSession:
        return self.sessions[session_id]

    async def expire_session(self, session_id: str) -> str:
        self.expired.append(session_id)
        return "expired"

    async def refund(
        self,
        payment_intent: str,
        amount: Money,
        idempotency_key: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> RefundReceipt:
        if self.refusing_refunds is not None:
            raise CheckoutRejected(
                f"Stripe refused to refund {payment_intent}: HTTP 400 {self.refusing_refunds}"
            )
        self.refunds.append((payment_intent, amount, idempotency_key))
        self.refund_requests.append(
            {"key": idempotency_key, "reason": reason, "metadata": dict(metadata or {})}
        )
        refund_id = f"re_{len(self.refunds)}"
        self.stripe_refunds[refund_id] = RefundObject(
            refund_id, amount.minor, amount.currency, self.refund_status, payment_intent,
            reason=reason, metadata=dict(metadata or {}),
        )  # fmt: skip
        return RefundReceipt(refund_id, self.refund_status)

    def refund_moves_to(self, refund_id: str, status: str) -> None:
        """Stripe (the bank) moves a refund on, telling nobody."""
        refund = self.stripe_refunds[refund_id]
        self.stripe_refunds[refund_id] = msgspec.structs.replace(refund, status=status)

    async def retrieve_refund(self, refund_id: str) -> RefundObject:
        if self.down:
            raise CheckoutUnavailable("stripe down")
        try:
            return self.stripe_refunds[refund_id]
        except KeyError:
            raise CheckoutRejected(f"no such refund: {refund_id}") from None

    async def retrieve_dispute(self, dispute_id: str) -> DisputeObject:
        if self.down:
            raise CheckoutUnavailable("stripe down")
        try:
            return self.disputes[dispute_id]
        except KeyError:
            raise CheckoutRejected(f"no such dispute: {dispute_id}") from None

    async def undelivered_events(self, since: datetime) -> list[StripeEvent]:
        return list(self.undelivered)

    async def retrieve_payment_intent(self, intent_id: str) -> PaymentIntentState:
        """An intent no test described is still on its way (`processing`)."""
        return self.payment_intents.get(intent_id, PaymentIntentState(intent_id, "processing"))

    async def open_sessions(self, created_after: datetime) -> list[CheckoutSession]:
        return [
            session
            for session in self.sessions.values()
            if session.status == "open"
            and session.session_id not in self.expired
            and (session.created is None or session.created > created_after)
        ]


@dataclass
class InMemoryStatusView(PaymentStatusView):
    reports: dict[str, PaymentStatusReport] = field(default_factory=dict)

    async def get(self, order_id: str) -> PaymentStatusReport | None:
        return self.reports.get(order_id)


@dataclass
class InMemoryRefundKeys(RefundKeys):
    """The refunds API's idempotency keys; the first claim of a key is the one kept."""

    keys: dict[str, RefundKey] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def find(self, key: str) -> RefundKey | None:
        return self.keys.get(key)

    def claim(self, candidate: RefundKey) -> RefundKey:
        with self._lock:
            return self.keys.setdefault(candidate.key, candidate)
