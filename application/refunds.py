"""Use case: an admin orders a refund of all or part of an order's payment (issue 12).

The request only records the ordered refund on the payment; the Stripe call is owed from
then on and made by the effects queue (durable, retried, one Stripe key per refund), so
the API answers 202 at once and a Stripe outage loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import msgspec

from application.errors import AdminRoleRequired, IdempotencyKeyReused, OrderNotFound
from application.identity import Caller
from application.ledger import PaymentConflict, PaymentLedger
from application.ports import Clock
from application.refund_keys import RefundKey, RefundKeys, fingerprint_of, refund_id_for
from domain.errors import InvalidAmount, InvalidRefundAmount
from domain.money import Money
from domain.payment import Payment

log = logging.getLogger(__name__)
CONFLICT_RETRIES = 5


class RefundRequest(msgspec.Struct, frozen=True):
    """What the admin asked for; `amount` in major units, None for all still refundable."""

    order_id: str
    amount: Decimal | None = None
    reason: str | None = None


class RefundAccepted(msgspec.Struct, frozen=True):
    """The refund recorded for the request (the first time, or on a replay of its key)."""

    refund_id: str
    order_id: str
    amount: Money


class RequestRefund:
    """Records the refund an admin orders, once per `Idempotency-Key`.

    The key names the refund (its id is derived from the key), so a retry, even one
    after a crash between storing the key and recording the refund, finds or records
    that same refund; the key's stored fingerprint refuses it for any other request.
    A request refused (not refundable, too much…) stores no key, as at Stripe. The refund
    records the admin who ordered it (`ordered_by`, their user id), for the history.
    """

    def __init__(self, ledger: PaymentLedger, keys: RefundKeys, clock: Clock) -> None:
        self._ledger = ledger
        self._keys = keys
        self._clock = clock

    async def __call__(self, caller: Caller, key: str, request: RefundRequest) -> RefundAccepted:
        if not caller.may_refund:
            raise AdminRoleRequired(caller.user_id)
        accepted = await asyncio.to_thread(self._refund, key, request, caller.user_id)
        log.info(
            "refund ordered",
            extra={
                "orderId": accepted.order_id,
                "refundId": accepted.refund_id,
                "amount": str(accepted.amount),
                "reason": request.reason,
                "adminId": caller.user_id,
            },
        )
        return accepted

    def _refund(self, key: str, request: RefundRequest, admin_id: str) -> RefundAccepted:
        refund_id = refund_id_for(key)
        for _ in range(CONFLICT_RETRIES):
            claimed = self._keys.find(key)
            if claimed is not None and claimed.order_id != request.order_id:
                raise IdempotencyKeyReused(key)
            payment = self._ledger.find(request.order_id)
            if payment is None:
                raise OrderNotFound(request.order_id)
            amount = _amount_in(payment, request.amount)
            fingerprint = fingerprint_of(
                request.order_id, None if amount is None else amount.minor, request.reason
            )
            if claimed is not None and claimed.fingerprint != fingerprint:
                raise IdempotencyKeyReused(key)
            recorded = payment.refund(refund_id)
            if recorded is not None:  # the key's request again: answer as the first time
                return RefundAccepted(refund_id, request.order_id, recorded.amount)
            granted = payment.request_refund(refund_id, amount, request.reason, ordered_by=admin_id)
            if claimed is None:
                now = self._clock.now()
                self._claim(RefundKey(key, fingerprint, request.order_id, refund_id, now))
            try:
                self._ledger.record(payment)
            except PaymentConflict:
                continue  # someone wrote the payment first: decide again on what they wrote
            return RefundAccepted(refund_id, request.order_id, granted)
        raise PaymentConflict(f"order {request.order_id}: too many concurrent writers")

    def _claim(self, candidate: RefundKey) -> None:
        """Stores the key; a concurrent request that stored it first with another body wins."""
        stored = self._keys.claim(candidate)
        if stored.fingerprint != candidate.fingerprint:
            raise IdempotencyKeyReused(candidate.key)


def _amount_in(payment: Payment, major: Decimal | None) -> Money | None:
    """The requested amount in the payment's currency, exactly, or None for all of it."""
    if major is None:
        return None
    currency = payment.amount.currency
    try:
        return Money.from_major(major, currency)
    except InvalidAmount:
        raise InvalidRefundAmount(
            f"amount has more decimals than {currency.upper()} allows"
        ) from None
