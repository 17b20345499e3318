"""The event Stripe sent (or will send) for a refund or dispute as Stripe has it now.

Reconciliation reads back refunds still pending and disputes still open once Stripe has
been silent about them for a while (ADR 0024), and applies what it finds as the webhook
would have: the object as Stripe answered it, in the event Stripe sends for that change,
under the id `reconcile:{refund or dispute}:{status}`. A second run, or the real webhook
arriving later, is then a duplicate or no news.
"""

from __future__ import annotations

from datetime import timedelta

import msgspec

from application.stripe_events import (
    DISPUTE_CLOSED,
    DISPUTE_UPDATED,
    REFUND_FAILED,
    REFUND_UPDATED,
    DisputeObject,
    EventData,
    RefundObject,
    StripeEvent,
)
from application.unsettled_money_back import Awaited
from domain.dispute import CLOSED_STATUSES
from domain.refund import RefundStatus, refund_status

DEFAULT_MONEY_BACK_WAIT = timedelta(hours=1)
"""Stripe's silence on a pending refund or an open dispute after which it is read back."""


def refund_news(recorded: Awaited, refund: RefundObject) -> StripeEvent | None:
    """`refund.failed` for a failed refund, `refund.updated` for any other new status;
    None while Stripe still says what we recorded."""
    status = refund_status(refund.status)
    if status.value == recorded.status:
        return None
    event_type = REFUND_FAILED if status is RefundStatus.FAILED else REFUND_UPDATED
    return _event(event_type, refund, status.value)


def dispute_news(recorded: Awaited, dispute: DisputeObject) -> StripeEvent | None:
    """`charge.dispute.closed` for a closed dispute, `charge.dispute.updated` for any other
    new status; None while Stripe still says what we recorded."""
    if dispute.status == recorded.status:
        return None
    event_type = DISPUTE_CLOSED if dispute.status in CLOSED_STATUSES else DISPUTE_UPDATED
    return _event(event_type, dispute, dispute.status)


def _event(event_type: str, found: RefundObject | DisputeObject, status: str) -> StripeEvent:
    """The object as Stripe answered it, as the event's `data.object`."""
    return StripeEvent(
        id=f"reconcile:{found.id}:{status}",
        type=event_type,
        data=EventData(object=msgspec.to_builtins(found)),
    )
