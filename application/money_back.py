"""What a refund, charge or dispute event from Stripe says about a payment (ADR 0022).

Stripe's objects are turned into the domain's reports here; the payment decides what
is news (out-of-order and repeated deliveries change nothing).
"""

from __future__ import annotations

import logging

from application.stripe_events import (
    REFUND_FAILED,
    ChargeObject,
    DisputeObject,
    RefundObject,
    StripeEvent,
)
from domain.dispute import Dispute
from domain.money import Money
from domain.payment import Payment
from domain.refund import RefundReport, RefundStatus, refund_status

log = logging.getLogger(__name__)
OPEN_DISPUTE = "needs_response"


def concerns(payment: Payment, event: StripeEvent) -> bool:
    """About the payment's own charge, or about a refund the service made for the order
    (a stray session's refund is on another PaymentIntent)."""
    found = event.money_back()
    if isinstance(found, RefundObject) and found.ours and found.order_id == payment.order_id:
        return True
    if found.payment_intent and payment.owns_intent(found.payment_intent, None):
        return True
    log.warning(
        "money going back on a PaymentIntent that is not the payment's; nothing recorded",
        extra={
            "orderId": payment.order_id,
            "eventId": event.id,
            "eventType": event.type,
            "paymentIntent": found.payment_intent,
        },
    )
    return False


def record_money_back(payment: Payment, event: StripeEvent) -> None:
    """Tells the payment what the event's object says (it records only what is news)."""
    found = event.money_back()
    if isinstance(found, RefundObject):
        report = refund_report_of(found)
        if event.type == REFUND_FAILED and not report.status.is_final:
            report = RefundReport(
                report.stripe_refund_id, report.amount, RefundStatus.FAILED, report.ours,
                report.reason,
            )  # fmt: skip
        payment.report_refund(event.id, report)
    elif isinstance(found, ChargeObject):
        listed = found.refunds.data if found.refunds else []
        refunds = tuple(refund_report_of(refund) for refund in listed)
        payment.report_charge_refunds(event.id, _money(found.amount_refunded, found), refunds)
    else:
        payment.report_dispute(event.id, dispute_of(found))


def refund_report_of(refund: RefundObject) -> RefundReport:
    return RefundReport(
        stripe_refund_id=refund.id,
        amount=_money(refund.amount, refund),
        status=refund_status(refund.status),
        ours=refund.ours,
        reason=refund.reason,
    )


def dispute_of(dispute: DisputeObject) -> Dispute:
    return Dispute(
        dispute.id,
        _money(dispute.amount, dispute),
        dispute.reason or "",
        dispute.status or OPEN_DISPUTE,
    )


def _money(minor: int, found: RefundObject | ChargeObject | DisputeObject) -> Money:
    return Money(minor, found.currency.lower())
