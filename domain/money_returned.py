"""How much of a payment's money has gone back, by refund or lost dispute (ADR 0022)."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from domain.dispute import Dispute
from domain.refund import Refund, RefundStatus


class MoneyReturned(msgspec.Struct, frozen=True):
    """Minor units of the order's money (a stray session's refunds are not counted)."""

    live: int
    """Refunds pending, needing action or succeeded, and lost disputes: `refundedAmount`."""
    settled: int
    """Refunds Stripe says succeeded, and lost disputes: REFUNDED once it is all received."""
    known: int
    """Every refund we know of, whatever its status: what a charge's running total of
    refunds is compared with before a refund we never heard of is assumed."""


def money_returned(refunds: Iterable[Refund], disputes: Iterable[Dispute]) -> MoneyReturned:
    live = settled = known = 0
    for refund in refunds:
        if not refund.of_the_order:
            continue
        known += refund.amount.minor
        if refund.status.holds_money:
            live += refund.amount.minor
        if refund.status is RefundStatus.SUCCEEDED:
            settled += refund.amount.minor
    lost = sum(dispute.amount.minor for dispute in disputes if dispute.is_lost)
    return MoneyReturned(live + lost, settled + lost, known)
