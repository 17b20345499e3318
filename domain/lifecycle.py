"""The vocabulary of a payment's life: statuses, failure reasons, policies."""

from __future__ import annotations

from enum import StrEnum


class PaymentStatus(StrEnum):
    INITIATED = "INITIATED"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"


class FailureReason(StrEnum):
    EXPIRED = "expired"
    ASYNC_FAILED = "async_failed"
    PAYMENT_FAILED = "payment_failed"
    AMOUNT_MISMATCH = "amount_mismatch"


class FailedPaymentPolicy(StrEnum):
    """What a declined card does (`PAYMENT_FAILED_POLICY`).

    `cancel` ends the payment: the session is expired at Stripe so it can no longer
    be paid, then stock is released and the order cancelled. `retry` only records
    the attempt: the customer may try another card until the session expires.
    """

    CANCEL = "cancel"
    RETRY = "retry"
