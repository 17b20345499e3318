"""Refunds of a payment's money, as Stripe reports them (ADR 0022).

A refund's status only moves forward: `pending` or `requires_action`, then
`succeeded`, then possibly `failed` (a bank can return a succeeded refund); `failed`
and `canceled` are final. Stripe delivers its events late and out of order, so a
report that would move a refund back (a `pending` after `succeeded`, a `succeeded`
after `failed`) is stale and changes nothing.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from domain.money import Money

REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})
"""The reasons Stripe's `POST /v1/refunds` takes."""

OWED_REFUND = "owed"
"""The key of the refund the service owes by itself: money for a cancelled order, or in
the wrong amount (one per payment, sent under Stripe key `refund:{payment_intent}`)."""
STRAY_REFUND_PREFIX = "stray:"
EXTERNAL_REFUND_PREFIX = "external:"


def is_reserved_refund_id(refund_id: str) -> bool:
    """Keys of the refunds an operator did not order: never an ordered refund's id."""
    return (
        not refund_id
        or refund_id == OWED_REFUND
        or refund_id.startswith((STRAY_REFUND_PREFIX, EXTERNAL_REFUND_PREFIX))
    )


class RefundStatus(StrEnum):
    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def holds_money(self) -> bool:
        """The money is gone from the payment, or on its way back to the customer."""
        return self not in GIVEN_BACK

    @property
    def is_final(self) -> bool:
        return self in GIVEN_BACK

    def may_become(self, later: RefundStatus) -> bool:
        """Whether a report of `later` is news rather than a stale delivery."""
        if later is self:
            return False
        return _RANK[later] >= _RANK[self] and not self.is_final


GIVEN_BACK = frozenset({RefundStatus.FAILED, RefundStatus.CANCELED})
_RANK = {
    RefundStatus.PENDING: 0,
    RefundStatus.REQUIRES_ACTION: 0,
    RefundStatus.SUCCEEDED: 1,
    RefundStatus.FAILED: 2,
    RefundStatus.CANCELED: 2,
}


def refund_status(stripe_status: str | None) -> RefundStatus:
    """Stripe's word for a refund; an unknown or missing one is still on its way."""
    try:
        return RefundStatus(stripe_status or RefundStatus.PENDING)
    except ValueError:
        return RefundStatus.PENDING


class RefundOrigin(StrEnum):
    ORDERED = "ordered"
    """By an operator, through `POST /payments/refunds`."""
    OWED = "owed"
    """By the service itself: a late payment for a cancelled order, a wrong amount."""
    STRAY = "stray"
    """Money paid on another Checkout Session of the order: never the order's money."""
    EXTERNAL = "external"
    """Made outside the service (Stripe's dashboard, another integration)."""


class Refund(msgspec.Struct, frozen=True):
    """One refund of the payment, keyed by `refund_id`: the operator's id for an ordered
    one, `owed`, `stray:{session}` or `external:{Stripe's id}` for the others."""

    refund_id: str
    amount: Money
    status: RefundStatus
    origin: RefundOrigin
    reason: str | None = None
    stripe_refund_id: str | None = None
    ordered_by: str = ""
    """The user id of the operator who ordered it ("" for the others, and for refunds
    ordered before it was recorded)."""

    @property
    def currency(self) -> str:
        return self.amount.currency

    @property
    def sent(self) -> bool:
        """Stripe has it (we know its id); until then the effects queue owes the call."""
        return self.stripe_refund_id is not None

    @property
    def is_owed_back(self) -> bool:
        """Money the service owes back by itself (its own refund, a stray session's): if the
        refund fails, the money is still owed, not merely refundable again."""
        return self.origin in (RefundOrigin.OWED, RefundOrigin.STRAY)

    @property
    def of_the_order(self) -> bool:
        """Counts against the order's money (a stray session's money is not the order's)."""
        return self.origin is not RefundOrigin.STRAY


class RefundReport(msgspec.Struct, frozen=True):
    """What Stripe says of one refund (a `refund.*` event, or one in a charge's list)."""

    stripe_refund_id: str
    amount: Money
    status: RefundStatus
    ours: str | None = None
    """The `refundId` in its metadata: the key of one of our refunds, if we made it."""
    reason: str | None = None
