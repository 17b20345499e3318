"""A checkout gateway for a service started without `STRIPE_SECRET_KEY`.

The service still starts (webhooks, status and health keep working); opening a
session fails like any Stripe outage, and the log says why.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from application.errors import CheckoutUnavailable
from application.ports import (
    CheckoutRequest,
    CheckoutSession,
    PaymentIntentState,
    RefundReceipt,
)
from application.stripe_events import DisputeObject, RefundObject, StripeEvent
from domain.money import Money

log = logging.getLogger(__name__)


class UnconfiguredCheckoutGateway:
    """Refuses every Stripe call with `CheckoutUnavailable`, naming the missing setting."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def _refuse(self) -> CheckoutUnavailable:
        log.error("stripe is not configured", extra={"reason": self._reason})
        return CheckoutUnavailable(self._reason)

    async def open_session(self, request: CheckoutRequest) -> CheckoutSession:
        raise self._refuse()

    async def retrieve_session(self, session_id: str) -> CheckoutSession:
        raise self._refuse()

    async def expire_session(self, session_id: str) -> str:
        raise self._refuse()

    async def refund(
        self,
        payment_intent: str,
        amount: Money,
        idempotency_key: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> RefundReceipt:
        raise self._refuse()

    async def undelivered_events(self, since: datetime) -> list[StripeEvent]:
        raise self._refuse()

    async def retrieve_payment_intent(self, intent_id: str) -> PaymentIntentState:
        raise self._refuse()

    async def open_sessions(self, created_after: datetime) -> list[CheckoutSession]:
        raise self._refuse()

    async def retrieve_refund(self, refund_id: str) -> RefundObject:
        raise self._refuse()

    async def retrieve_dispute(self, dispute_id: str) -> DisputeObject:
        raise self._refuse()

    async def aclose(self) -> None:
        return None
