"""Errors of the payment use cases, one per answer the API contract gives."""

from __future__ import annotations

from domain.errors import PaymentError


class OrderNotFound(PaymentError):
    """No such order, or it belongs to someone else (we do not say which)."""


class OrderNotPayable(PaymentError):
    """The order is not PENDING."""

    def __init__(self, status: str) -> None:
        super().__init__(f"Cannot create payment for order with status: {status}")
        self.status = status


class PaymentAlreadyCompleted(PaymentError):
    """The order's payment already succeeded."""


class CheckoutUnavailable(PaymentError):
    """Stripe did not give us a session (or refused a call); details are in the logs."""

    def __init__(self, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


class OrderServiceUnavailable(PaymentError):
    """The order service did not answer usefully; the caller may retry."""


class InventoryServiceUnavailable(PaymentError):
    """The inventory service did not answer usefully; the processor retries."""


class ServiceRejected(PaymentError):
    """A neighbour answered with a 4xx that retrying will not change."""


class CheckoutRejected(CheckoutUnavailable, ServiceRejected):
    """Stripe refused a call for good (a 4xx retrying will not change, e.g. an unknown session).

    The processor parks the payment as for any `ServiceRejected` (ADR 0012); a request
    that meets it answers like any other Stripe failure (`CheckoutUnavailable`, 500).
    """


class AdminRoleRequired(PaymentError):
    """Only an admin may order a refund."""


class IdempotencyKeyReused(PaymentError):
    """An `Idempotency-Key` already used for another request (another order, amount or
    reason): nothing is done, so a client's mistake never becomes a second refund."""
