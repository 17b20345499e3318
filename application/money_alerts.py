"""The log lines someone must read when money goes back: failed refunds, disputes (ADR 0022).

Called with the events just recorded (by a webhook or by the effects queue), so each
line is written once, by the process that recorded the fact.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from domain.dispute import LOST
from domain.payment import Payment
from domain.refund import OWED_REFUND, STRAY_REFUND_PREFIX, RefundStatus

log = logging.getLogger(__name__)
STILL_OWED_FAILED = (
    "refund failed at stripe; the money is still owed back: refund it in the Stripe dashboard"
)
STILL_OWED_REFUSED = (
    "stripe refused a refund of money the service owes back; it is still owed: "
    "refund it in the Stripe dashboard"
)
REFUNDABLE = "refund failed at stripe; its amount is refundable again"

REFUND_REPORTED = Payment.declared_event("RefundReported")
REFUNDED = Payment.declared_event("Refunded")
STRAY_REFUNDED = Payment.declared_event("StrayPaymentRefunded")
REFUND_REFUSED = Payment.declared_event("RefundRefused")
OWED_REFUND_REFUSED = Payment.declared_event("OwedRefundRefused")
EXTERNAL_REFUND = Payment.declared_event("ExternalRefundRecorded")
DISPUTE_OPENED = Payment.declared_event("DisputeOpened")
DISPUTE_UPDATED = Payment.declared_event("DisputeUpdated")
DISPUTE_CLOSED = Payment.declared_event("DisputeClosed")
DISPUTE_NEWS = (DISPUTE_OPENED, DISPUTE_UPDATED, DISPUTE_CLOSED)


def alert_on_money_going_back(payment: Payment, recorded: Sequence[object]) -> None:
    """One line per fact that needs a person: an `"alert": true` for a failed or refused
    refund (money the service owes back is said to be still owed, an operator's refund
    refundable again), an opened or lost dispute; a warning for a refund made outside
    the service."""
    for event in recorded:
        state = vars(event)
        ids = _ids_of(payment, state)
        if isinstance(event, REFUND_REPORTED) and _failed(state):
            _refund_failed(payment, state["refund_id"], ids)
        elif isinstance(event, REFUNDED) and _failed(state):
            _refund_failed(payment, OWED_REFUND, ids)
        elif isinstance(event, STRAY_REFUNDED) and _failed(state):
            _refund_failed(payment, STRAY_REFUND_PREFIX + state["session_id"], ids)
        elif isinstance(event, REFUND_REFUSED):
            _alert("stripe refused a refund; nothing was refunded", ids, why=state["why"])
        elif isinstance(event, OWED_REFUND_REFUSED):
            _alert(STILL_OWED_REFUSED, ids, amount=str(state["amount"]), why=state["why"])
        elif isinstance(event, EXTERNAL_REFUND):
            log.warning(
                "refund made outside the service recorded",
                extra={**ids, "amount": str(state["amount"]), "status": state["refund_status"]},
            )
        elif isinstance(event, DISPUTE_NEWS):
            _dispute_news(event, _dispute(state), ids)


def _failed(state: dict[str, Any]) -> bool:
    status = RefundStatus(state.get("refund_status", RefundStatus.SUCCEEDED))
    return status.is_final


def _refund_failed(payment: Payment, key: str, ids: dict[str, object]) -> None:
    """Money the service owes back (late, wrong, a stray session's) is still owed when its
    refund fails; an operator's refund failing leaves its money with the shop, refundable."""
    refund = payment.refund(key)
    message = STILL_OWED_FAILED if refund is not None and refund.is_owed_back else REFUNDABLE
    status = refund.status.value if refund is not None else None
    _alert(message, ids, status=status)


def _dispute_news(event: object, dispute: dict[str, object], ids: dict[str, object]) -> None:
    """An opened dispute alerts; so does a lost one, by whichever event it became lost: a
    `charge.dispute.closed` delivered before `charge.dispute.created` is recorded as the
    dispute opened, already lost. A closed dispute is final, so each alerts once."""
    if isinstance(event, DISPUTE_OPENED):
        _alert("stripe opened a dispute on the payment", ids, **dispute)
    if dispute["status"] == LOST:
        _alert("dispute lost: the money went back to the cardholder", ids, **dispute)
    elif isinstance(event, DISPUTE_CLOSED):
        log.info("dispute closed", extra={**ids, **dispute})


def _dispute(state: dict[str, Any]) -> dict[str, object]:
    return {
        "disputeId": state["dispute_id"],
        "status": state["dispute_status"],
        "reason": state["reason"],
        "amount": str(state["amount"]),
    }


def _alert(message: str, ids: dict[str, object], **details: object) -> None:
    log.error(message, extra={**ids, **details, "alert": True})


def _ids_of(payment: Payment, state: dict[str, Any]) -> dict[str, object]:
    ids: dict[str, object] = {"orderId": payment.order_id, "sessionId": payment.checkout_session_id}
    if state.get("stripe_event_id"):
        ids["eventId"] = state["stripe_event_id"]
    if state.get("stripe_refund_id"):
        ids["stripeRefundId"] = state["stripe_refund_id"]
    if state.get("refund_id"):
        ids["refundId"] = state["refund_id"]
    if state.get("session_id"):  # a stray session's refund: money paid on that session
        ids["straySessionId"] = state["session_id"]
    return ids
