"""A payment as it stood at a version or a moment, rebuilt from its events alone.

Amounts are in major units (`50.00`) in the payment's `currency`, as `amount` is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from application.ledger import PaymentLedger
from domain.dispute import Dispute
from domain.payment import Payment, payment_id_for
from domain.refund import Refund


class NothingRecordedThen(Exception):
    """No payment for that order, or none yet at that version or time."""


class RefundState(msgspec.Struct, rename="camel"):
    """One refund of the payment: an operator's (its refund id), the service's own (`owed`),
    a stray session's (`stray:{session}`) or one made outside it (`external:{Stripe's id}`)."""

    refund_id: str
    amount: str
    status: str
    origin: str
    reason: str | None
    stripe_refund_id: str | None
    ordered_by: str | None
    """The admin's user id for an operator's refund; None for the others and for refunds
    ordered before it was recorded."""


class DisputeState(msgspec.Struct, rename="camel"):
    """The payment's latest dispute, as Stripe reported it then."""

    dispute_id: str
    amount: str
    reason: str
    status: str


class PaymentState(msgspec.Struct, rename="camel"):
    """What `payments audit show` prints: status, amount, session, money returned, facts."""

    order_id: str
    payment_id: str
    version: int
    recorded_at: datetime
    status: str
    amount: str
    currency: str
    session_id: str
    expires_at: datetime
    refunded_amount: str
    """Refunds pending or succeeded and lost disputes, as `GET /status` counts them."""
    refundable: str
    refund_owed: str
    """Money the service owes back by itself that no refund pending or succeeded covers."""
    refunds: list[RefundState]
    dispute: DisputeState | None
    facts: dict[str, Any]


def payment_as_of(
    ledger: PaymentLedger, order_id: str, version: int | None = None, at: datetime | None = None
) -> PaymentState:
    """Replays the order's payment up to `version`, or up to the last event at or before `at`."""
    payment_id = payment_id_for(order_id)
    if at is not None:
        version = _last_version_at(ledger, order_id, at)
    if version is not None and version < 1:
        raise NothingRecordedThen(f"version must be 1 or more, not {version}")
    payment = ledger.load(payment_id, version=version)
    if payment is None:
        raise NothingRecordedThen(f"no payment recorded for order {order_id}")
    if version is not None and payment.version < version:
        raise NothingRecordedThen(f"order {order_id} has {payment.version} versions, not {version}")
    return state_of(payment)


def _last_version_at(ledger: PaymentLedger, order_id: str, at: datetime) -> int:
    last = 0
    for event in ledger.history(payment_id_for(order_id)):
        if vars(event)["timestamp"] > at:
            break
        last = event.originator_version
    if last == 0:
        raise NothingRecordedThen(f"nothing recorded for order {order_id} at {at.isoformat()}")
    return last


def state_of(payment: Payment) -> PaymentState:
    return PaymentState(
        order_id=payment.order_id,
        payment_id=str(payment.id),
        version=payment.version,
        recorded_at=payment.modified_on,
        status=payment.status.value,
        amount=str(payment.amount.to_major()),
        currency=payment.amount.currency,
        session_id=payment.checkout_session_id,
        expires_at=payment.expires_at,
        refunded_amount=str(payment.refunded_amount.to_major()),
        refundable=str(payment.refundable.to_major()),
        refund_owed=str(payment.refund_owed.to_major()),
        refunds=[_refund_state(refund) for refund in payment.refunds.values()],
        dispute=_dispute_state(payment.dispute) if payment.dispute else None,
        facts=_facts(payment),
    )


def _refund_state(refund: Refund) -> RefundState:
    return RefundState(
        refund_id=refund.refund_id,
        amount=str(refund.amount.to_major()),
        status=refund.status.value,
        origin=refund.origin.value,
        reason=refund.reason,
        stripe_refund_id=refund.stripe_refund_id,
        ordered_by=refund.ordered_by or None,
    )


def _dispute_state(dispute: Dispute) -> DisputeState:
    return DisputeState(
        dispute_id=dispute.dispute_id,
        amount=str(dispute.amount.to_major()),
        reason=dispute.reason,
        status=dispute.status,
    )


def _facts(payment: Payment) -> dict[str, Any]:
    received = payment.amount_received
    refund_due = payment.refund_due
    return {
        "userId": payment.user_id,
        "paymentIntent": payment.payment_intent,
        "customerEmail": payment.customer_email,
        "amountReceived": str(received.to_major()) if received else None,
        "awaitingAsyncPayment": payment.awaiting_async_payment,
        "failedAttempts": payment.failed_attempts,
        "failureReason": payment.failure_reason.value if payment.failure_reason else None,
        "declineMessage": payment.decline_message,
        "refundDue": str(refund_due.to_major()) if refund_due else None,
        "refundId": payment.refund_id,
        "orderConfirmed": payment.order_confirmed,
        "checkoutClosed": payment.checkout_closed,
        "releasedProducts": sorted(payment.released_products),
        "orderCancelled": payment.order_cancelled,
        "stripeEvents": sorted(payment.applied_stripe_events),
    }
