"""Errors the payment domain raises; the HTTP layer maps them to responses."""

from __future__ import annotations


class PaymentError(Exception):
    """Base of every domain error."""


class InvalidAmount(PaymentError):
    """An amount or currency that cannot be represented exactly."""


class InvalidOrder(PaymentError):
    """Order data that cannot be charged as it stands (empty, totals disagree…)."""


class ImplausibleAmount(InvalidAmount):
    """Money reported in an amount or currency no real charge has: never recorded."""


class RefundRefused(PaymentError):
    """A refund that cannot be ordered as asked; nothing was recorded."""


class PaymentNotRefundable(RefundRefused):
    """The payment holds no money to refund: it is not SUCCESS or PARTIALLY_REFUNDED."""


class RefundExceedsRefundable(RefundRefused):
    """More than what remains refundable (received, less live refunds and lost disputes)."""


class InvalidRefundAmount(RefundRefused):
    """A refund of nothing, of less than nothing, or in another currency than the payment's."""


class InvalidRefundReason(RefundRefused):
    """A reason Stripe does not take (`duplicate`, `fraudulent`, `requested_by_customer`)."""
