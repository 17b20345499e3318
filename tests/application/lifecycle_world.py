"""Stripe, the order service and the inventory service as the lifecycle model sees them.

Each keeps the truth the model checks the payment service against (what Stripe captured
and refunded, what the shop's orders became, what stock came back), answers as the real
one does (idempotency keys, 4xx for a change the shop refuses, a 5xx saved for its key),
and can be switched to fail with a 5xx or refuse with a 4xx. Stripe also writes the
events it would send, which the model delivers, redelivers, reorders or loses.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import msgspec

from application.errors import (
    CheckoutRejected,
    CheckoutUnavailable,
    InventoryServiceUnavailable,
    OrderNotFound,
    OrderServiceUnavailable,
    ServiceRejected,
)
from application.ports import (
    CheckoutGateway,
    CheckoutRequest,
    CheckoutSession,
    Inventory,
    OrderDirectory,
    PaymentIntentState,
    RefundReceipt,
)
from application.stripe_events import (
    DisputeObject,
    RefundObject,
    StripeEvent,
    decode_stripe_event,
)
from domain.money import Money
from domain.order import OrderSnapshot, OrderStatus
from tests.fakes import FixedClock

BUCKET = timedelta(minutes=5)
SESSION_LIFETIME = timedelta(minutes=30)


class Mode(StrEnum):
    """How a neighbour answers for now."""

    OK = "ok"
    FAILING = "5xx"
    REFUSING = "4xx"


class CreateMode(StrEnum):
    """How Stripe answers a create-session."""

    OK = "ok"
    FAILING = "5xx"  # saved for the key, no session
    FAILING_AFTER_CREATING = "5xx after creating"  # saved for the key; a session nobody gets
    ANSWER_LOST = "answer lost"  # made and saved, but our call timed out


@dataclass
class Session:
    id: str
    order_id: str
    attempt: str
    amount: Money
    created: datetime
    expires_at: datetime
    handed_out: bool = False  # someone holds its URL (the use case answered with it)
    status: str = "open"
    payment_status: str = "unpaid"
    intent: str | None = None
    customer_email: str = "buyer@example.com"


@dataclass
class Intent:
    id: str
    session_id: str
    order_id: str
    attempt: str
    status: str = "requires_payment_method"
    captured: Money | None = None
    declines: int = 0  # cards declined, and bank debits that failed


@dataclass
class StripeModel(CheckoutGateway):
    """Stripe's Checkout, PaymentIntents, refunds and event log, in memory."""

    clock: FixedClock
    sessions: dict[str, Session] = field(default_factory=dict)
    intents: dict[str, Intent] = field(default_factory=dict)
    keys: dict[str, str | None] = field(default_factory=dict)  # key -> session, None: 5xx
    refunds: dict[str, tuple[str, str, Money]] = field(default_factory=dict)  # key -> refund
    events: list[dict[str, Any]] = field(default_factory=list)
    delivered: set[str] = field(default_factory=set)
    create_mode: CreateMode = CreateMode.OK
    mode: Mode = Mode.OK  # every other call: expire, refund, retrieve, list
    events_listed: bool = True  # False: the event list has nothing (older than 30 days)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- the API, as the gateway port ------------------------------------------

    async def open_session(self, request: CheckoutRequest) -> CheckoutSession:
        """As `StripeCheckoutGateway`: the order's key of this bucket, or the next one when
        Stripe replays a failure saved for it."""
        bucket = int(self.clock.now().timestamp() // BUCKET.total_seconds())
        base = f"{request.idempotency_key}:{bucket}"
        spent = 0
        while self.keys.get(key := f"{base}:{spent}", "") is None:
            spent += 1
        if key in self.keys:
            return self._view(self.sessions[str(self.keys[key])])
        mode = self.create_mode
        if mode is CreateMode.FAILING:
            self.keys[key] = None
            raise CheckoutUnavailable("Stripe: create checkout session failed (500)")
        session = self._new_session(request, key)
        self.keys[key] = None if mode is CreateMode.FAILING_AFTER_CREATING else session.id
        if mode is not CreateMode.OK:
            raise CheckoutUnavailable(f"Stripe: create checkout session failed ({mode})")
        return self._view(session)

    async def retrieve_session(self, session_id: str) -> CheckoutSession:
        self._answer()
        return self._view(self.sessions[session_id])

    async def expire_session(self, session_id: str) -> str:
        self._answer()
        session = self.sessions[session_id]
        if session.status != "open":
            return "already_closed"
        self.expire(session)
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
        return RefundReceipt(
            await self._refund(payment_intent, amount, idempotency_key), "succeeded"
        )

    async def _refund(self, payment_intent: str, amount: Money, idempotency_key: str) -> str:
        self._answer()
        if idempotency_key in self.refunds:
            return self.refunds[idempotency_key][0]
        intent = self.intents.get(payment_intent)
        if intent is None or intent.captured is None or amount.minor <= 0:
            raise CheckoutRejected(f"Stripe refused to refund {payment_intent}: HTTP 400")
        if amount.currency != intent.captured.currency:
            raise CheckoutRejected(f"Stripe refused to refund {payment_intent}: currency")
        given_back = self.refunded(payment_intent)
        if given_back + amount.minor > intent.captured.minor:
            # What the gateway does on charge_already_refunded: the existing refund, if whole.
            existing = [r for r in self.refunds.values() if r[1] == payment_intent]
            if existing and given_back >= amount.minor:
                return existing[0][0]
            raise CheckoutRejected(f"Stripe refused to refund {payment_intent}: over the charge")
        refund_id = f"re_{next(self._ids)}"
        self.refunds[idempotency_key] = (refund_id, payment_intent, amount)
        return refund_id

    async def undelivered_events(self, since: datetime) -> list[StripeEvent]:
        self._answer()
        if not self.events_listed:
            return []
        return [
            decode_stripe_event(msgspec.json.encode(e))
            for e in self.events
            if e["id"] not in self.delivered and e["created"] >= since.timestamp()
        ]

    async def retrieve_payment_intent(self, intent_id: str) -> PaymentIntentState:
        self._answer()
        return PaymentIntentState(intent_id, self.intents[intent_id].status)

    async def open_sessions(self, created_after: datetime) -> list[CheckoutSession]:
        self._answer()
        return [
            self._view(s)
            for s in self.sessions.values()
            if s.status == "open" and s.created > created_after
        ]

    async def retrieve_refund(self, refund_id: str) -> RefundObject:
        # The model's refunds succeed at once: none stays pending for reconciliation to read.
        raise CheckoutRejected(f"the model does not read refunds back: {refund_id}")

    async def retrieve_dispute(self, dispute_id: str) -> DisputeObject:
        raise CheckoutRejected(f"the model opens no disputes: {dispute_id}")

    # -- what happens at Stripe without us ----------------------------------------

    def pay(self, session: Session, amount: Money) -> None:
        """The customer pays on the hosted page. An amount other than the order's stands for
        a page opened before the order changed: Stripe charges, and reports, the page's."""
        session.amount = amount
        intent = self._intent_of(session)
        intent.status, intent.captured = "succeeded", amount
        session.status, session.payment_status = "complete", "paid"
        self.emit("checkout.session.completed", session)

    def duplicate(self, order: OrderSnapshot) -> Session:
        """A session of the order that none of its payments records: a create that lost a
        race and could not expire its own, or whose answer never came back."""
        request = CheckoutRequest(order, "buyer@example.com", f"duplicate:{order.order_id}")
        return self._new_session(request, f"{request.idempotency_key}:{next(self._ids)}")

    def decline(self, session: Session) -> None:
        intent = self._intent_of(session)
        intent.status = "requires_payment_method"
        intent.declines += 1
        self.emit_intent_failed(intent)

    def pay_by_bank(self, session: Session) -> None:
        intent = self._intent_of(session)
        intent.status = "processing"
        session.status = "complete"
        self.emit("checkout.session.completed", session)

    def bank_answers(self, session: Session, succeeded: bool) -> None:
        intent = self.intents[str(session.intent)]
        if succeeded:
            intent.status, intent.captured = "succeeded", session.amount
            session.payment_status = "paid"
            self.emit("checkout.session.async_payment_succeeded", session)
        else:
            intent.status = "requires_payment_method"
            intent.declines += 1
            self.emit("checkout.session.async_payment_failed", session)
            self.emit_intent_failed(intent)

    def expire(self, session: Session) -> None:
        session.status = "expired"
        if session.intent and self.intents[session.intent].status != "succeeded":
            self.intents[session.intent].status = "canceled"
        self.emit("checkout.session.expired", session)

    def expire_due(self) -> None:
        for session in self.sessions.values():
            if session.status == "open" and session.expires_at <= self.clock.now():
                self.expire(session)

    def refunded(self, intent_id: str) -> int:
        return sum(r[2].minor for r in self.refunds.values() if r[1] == intent_id)

    # -- events ------------------------------------------------------------------

    def emit(self, event_type: str, session: Session, **overrides: Any) -> None:
        data = {
            "id": session.id,
            "object": "checkout.session",
            "status": session.status,
            "payment_status": session.payment_status,
            "payment_intent": session.intent,
            "client_reference_id": session.order_id,
            "metadata": {"orderId": session.order_id, "checkoutAttempt": session.attempt},
            "amount_total": session.amount.minor,
            "currency": session.amount.currency,
            "customer_details": {"email": session.customer_email},
            **overrides,
        }
        self._log_event(event_type, data)

    def emit_intent_failed(self, intent: Intent) -> None:
        data = {
            "id": intent.id,
            "object": "payment_intent",
            "status": intent.status,
            "metadata": {"orderId": intent.order_id, "checkoutAttempt": intent.attempt},
            "last_payment_error": {"code": "card_declined", "message": "declined"},
        }
        self._log_event("payment_intent.payment_failed", data)

    def _log_event(self, event_type: str, data: dict[str, Any]) -> None:
        self.events.append(
            {
                "id": f"evt_{next(self._ids)}",
                "object": "event",
                "type": event_type,
                "created": int(self.clock.now().timestamp()),
                "data": {"object": data},
            }
        )

    # -- the rest ------------------------------------------------------------------

    def _answer(self) -> None:
        if self.mode is Mode.FAILING:
            raise CheckoutUnavailable("Stripe: HTTP 500")
        if self.mode is Mode.REFUSING:
            raise CheckoutRejected("Stripe refused: HTTP 400")

    def _new_session(self, request: CheckoutRequest, key: str) -> Session:
        now = self.clock.now()
        session = Session(
            id=f"cs_{next(self._ids)}",
            order_id=request.order.order_id,
            attempt=key,
            amount=request.order.total,
            created=now,
            expires_at=now + SESSION_LIFETIME,
        )
        self.sessions[session.id] = session
        return session

    def _intent_of(self, session: Session) -> Intent:
        if session.intent is None:
            intent = Intent(f"pi_{next(self._ids)}", session.id, session.order_id, session.attempt)
            self.intents[intent.id] = intent
            session.intent = intent.id
        return self.intents[session.intent]

    def _view(self, session: Session) -> CheckoutSession:
        return CheckoutSession(
            session_id=session.id,
            url=f"https://checkout.example/{session.id}",
            expires_at=session.expires_at,
            status=session.status,
            payment_status=session.payment_status,
            payment_intent=session.intent,
            amount_total=session.amount.minor,
            currency=session.amount.currency,
            customer_email=session.customer_email,
            order_id=session.order_id,
            attempt=session.attempt,
            created=session.created,
        )


@dataclass
class ShopModel(OrderDirectory):
    """The order service: a PENDING order moves once; any other change is refused (409)."""

    orders: dict[str, OrderSnapshot] = field(default_factory=dict)
    history: dict[str, list[str]] = field(default_factory=dict)
    moved_by_us: dict[str, list[str]] = field(default_factory=dict)
    mode: Mode = Mode.OK

    def add(self, order: OrderSnapshot) -> None:
        self.orders[order.order_id] = order
        self.history[order.order_id] = [order.status]
        self.moved_by_us[order.order_id] = []

    async def get(self, order_id: str) -> OrderSnapshot:
        if self.mode is Mode.FAILING:
            raise OrderServiceUnavailable("order service answered 503")
        if order_id not in self.orders:
            raise OrderNotFound(order_id)
        return self.orders[order_id]

    async def set_status(self, order_id: str, status: OrderStatus) -> None:
        if self.mode is Mode.FAILING:
            raise OrderServiceUnavailable("order service answered 503")
        if self.mode is Mode.REFUSING:
            raise ServiceRejected("PATCH order status: HTTP 403")
        current = self.orders[order_id].status
        if current == status:
            return
        if current != OrderStatus.PENDING:
            raise ServiceRejected(f"PATCH order status: HTTP 409 {current} -> {status}")
        self._move(order_id, status)
        self.moved_by_us[order_id].append(status)

    def cancel_elsewhere(self, order_id: str) -> None:
        """An admin (or a fraud check) cancels the order through the order service."""
        if self.orders[order_id].status == OrderStatus.PENDING:
            self._move(order_id, OrderStatus.CANCELLED)

    def status(self, order_id: str) -> str:
        return str(self.orders[order_id].status)

    def _move(self, order_id: str, status: str) -> None:
        self.orders[order_id] = msgspec.structs.replace(self.orders[order_id], status=status)
        self.history[order_id].append(status)


@dataclass
class InventoryModel(Inventory):
    """Gives an order's reserved units of a product back once per (order, product) key."""

    released: dict[tuple[str, str], int] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    mode: Mode = Mode.OK

    async def release(self, order_id: str, product_id: str, quantity: int) -> None:
        if self.mode is Mode.FAILING:
            raise InventoryServiceUnavailable("inventory answered 503")
        if self.mode is Mode.REFUSING:
            raise ServiceRejected("POST /internal/inventory/release: HTTP 403")
        self.calls.append((order_id, product_id))
        self.released.setdefault((order_id, product_id), quantity)
