"""A payment as it stood at a version or a moment, rebuilt from its events alone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from application.ledger import PaymentLedger
from domain.payment import Payment, payment_id_for


class NothingRecordedThen(Exception):
    """No payment for that order, or none yet at that version or time."""


class PaymentState(msgspec.Struct, rename="camel"):
    """What `payments audit show` prints: status, amount, session, facts, version."""

    order_id: str
    payment_id: str
    version: int
    recorded_at: datetime
    status: str
    amount: str
    currency: str
    session_id: str
    expires_at: datetime
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
        raise NothingRecordedThen(
            f"order {order_id} has {payment.version} versions, not {version}"
        )
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
        facts=_facts(payment),
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
