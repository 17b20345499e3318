"""The ports the use cases need, as small Protocols named by role."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

import msgspec

from application.stripe_events import DisputeObject, RefundObject, StripeEvent
from domain.effects import Effect
from domain.money import Money
from domain.order import OrderSnapshot, OrderStatus


class CheckoutRequest(msgspec.Struct, frozen=True):
    """Everything Stripe needs to open a Checkout Session for an order."""

    order: OrderSnapshot
    customer_email: str
    idempotency_key: str


class CheckoutSession(msgspec.Struct, frozen=True):
    """A Checkout Session as the use cases see it, behind the `CheckoutGateway` port (the
    gateway makes it from Stripe's JSON, `CheckoutSessionObject`)."""

    session_id: str
    url: str
    expires_at: datetime
    status: str = "open"
    payment_status: str = "unpaid"
    payment_intent: str | None = None
    amount_total: int | None = None
    currency: str | None = None
    customer_email: str | None = None
    order_id: str | None = None
    attempt: str = ""
    """The create attempt that opened it (its idempotency key, in its metadata); empty for
    sessions opened before issue 11."""
    created: datetime | None = None


class PaymentIntentState(msgspec.Struct, frozen=True):
    """A PaymentIntent as Stripe reports it: `processing` (a bank debit on its way),
    `succeeded`, `requires_payment_method` (declined or the debit failed), `canceled`…"""

    intent_id: str
    status: str
    order_id: str | None = None
    """The order in its metadata (our sessions put it there): how a dispute, or a refund
    made in the dashboard, is traced back to its payment."""


class RefundReceipt(msgspec.Struct, frozen=True):
    """Stripe's answer to a refund: its id and status (`pending`, `succeeded`, `failed`…)."""

    refund_id: str
    status: str


class CheckoutGateway(Protocol):
    """Stripe Checkout, as the service uses it."""

    async def open_session(self, request: CheckoutRequest) -> CheckoutSession: ...

    async def retrieve_session(self, session_id: str) -> CheckoutSession: ...

    async def expire_session(self, session_id: str) -> str:
        """Makes an open session unpayable; returns `expired` or `already_closed`."""
        ...

    async def refund(
        self,
        payment_intent: str,
        amount: Money,
        idempotency_key: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> RefundReceipt:
        """Refunds money received; returns Stripe's refund as Stripe made it."""
        ...

    async def undelivered_events(self, since: datetime) -> list[StripeEvent]:
        """Stripe events since `since` whose webhook delivery has not succeeded, oldest
        first (the order Stripe made them in)."""
        ...

    async def retrieve_payment_intent(self, intent_id: str) -> PaymentIntentState: ...

    async def open_sessions(self, created_after: datetime) -> list[CheckoutSession]:
        """Every Checkout Session still open (payable) created after `created_after`."""
        ...

    async def retrieve_refund(self, refund_id: str) -> RefundObject:
        """A refund as Stripe has it now (`CheckoutRejected` if Stripe knows no such refund)."""
        ...

    async def retrieve_dispute(self, dispute_id: str) -> DisputeObject:
        """A dispute as Stripe has it now (`CheckoutRejected` if Stripe knows no such one)."""
        ...


class OrderDirectory(Protocol):
    """The order service."""

    async def get(self, order_id: str) -> OrderSnapshot:
        """Raises `OrderNotFound` or `OrderServiceUnavailable`."""
        ...

    async def set_status(self, order_id: str, status: OrderStatus) -> None: ...


class Inventory(Protocol):
    """The inventory service."""

    async def release(self, order_id: str, product_id: str, quantity: int) -> None:
        """Gives reserved stock back; repeating it for the same order and product is harmless."""
        ...


class EffectMeter(Protocol):
    """Told of every effect call `SettlePayment` makes (metrics); must return at once.

    `outcome` is `done`, `refused` (a 4xx: retrying soon will not change it) or `failed`.
    """

    def effect_called(self, effect: Effect, outcome: str, seconds: float) -> None: ...


class DisputeReport(msgspec.Struct, frozen=True):
    """The payment's latest dispute: Stripe's status (`needs_response`, `won`, `lost`…)."""

    status: str
    amount: Money
    reason: str


class PaymentStatusReport(msgspec.Struct, frozen=True):
    """What `GET /payments/status/{orderId}` answers, before HTTP formatting."""

    order_id: str
    user_id: str
    status: str
    amount: Money
    session_id: str
    created_at: datetime
    updated_at: datetime
    version: int
    payment_intent: str | None = None
    customer_email: str | None = None
    user_email: str | None = None
    refunded_amount: Money | None = None
    """Refunds pending or succeeded and lost disputes (ADR 0022); None: nothing went back."""
    dispute: DisputeReport | None = None
    refund_owed: Money | None = None
    """Money the service owes back by itself that no refund pending or succeeded covers (its
    refund not sent yet, or failed at Stripe); None: nothing owed."""
    refund_currency: str | None = None
    """The currency of `refunded_amount`, `refund_owed` and the dispute's amount: the money
    received, which differs from `amount`'s only when it came in another currency (ADR
    0022); None: `amount`'s."""


class PaymentStatusView(Protocol):
    """The read model of payment statuses."""

    async def get(self, order_id: str) -> PaymentStatusReport | None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
