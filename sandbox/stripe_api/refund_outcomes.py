"""A refund's later outcome: a pending one succeeds, and a pending or succeeded one fails
(the bank sent it back) or is canceled (from the Dashboard).

Each sends `refund.updated` (with `previous_attributes`) and `charge.refund.updated`;
a failure also `refund.failed`. A failed or canceled refund gives its amount back to
what the charge can still refund. Test cards book these outcomes for later
(refunds.py); the admin routes apply them at once.
"""

from __future__ import annotations

from typing import Any

from sandbox.stripe_api.charges import CHARGE, add_refunded
from sandbox.stripe_api.errors import invalid_request
from sandbox.stripe_api.ids import new_id
from sandbox.stripe_api.refunds import REFUND, SETTLEMENT
from sandbox.stripe_api.state import Sandbox

FAILURE_REASONS = {
    "lost_or_stolen_card",
    "expired_or_canceled_card",
    "charge_for_pending_refund_disputed",
    "insufficient_funds",
    "declined",
    "merchant_request",
    "unknown",
}
DEFAULT_FAILURE_REASON = "expired_or_canceled_card"


def succeed_refund(sandbox: Sandbox, refund: dict[str, Any]) -> dict[str, Any]:
    _require(refund, {"pending"}, "succeed")
    _move(sandbox, refund, status="succeeded")
    return refund


def fail_refund(
    sandbox: Sandbox, refund: dict[str, Any], failure_reason: str = DEFAULT_FAILURE_REASON
) -> dict[str, Any]:
    _require(refund, {"pending", "succeeded"}, "fail")
    if failure_reason not in FAILURE_REASONS:
        raise invalid_request(
            f"Invalid failure_reason; one of {sorted(FAILURE_REASONS)}", param="failure_reason"
        )
    _move(
        sandbox,
        refund,
        status="failed",
        failure_reason=failure_reason,
        failure_balance_transaction=new_id("txn"),
    )
    return refund


def cancel_refund(sandbox: Sandbox, refund: dict[str, Any]) -> dict[str, Any]:
    _require(refund, {"pending", "succeeded"}, "cancel")
    _move(sandbox, refund, status="canceled")
    return refund


def settle_due_refunds(sandbox: Sandbox) -> int:
    """Apply the booked outcomes whose time has come on the sandbox clock."""
    settled = 0
    for booking in sandbox.store.list_objects(SETTLEMENT, status="due"):
        if not sandbox.clock.is_past(booking["settles_at"], booking["clock_offset"]):
            continue
        refund = sandbox.store.get_object(REFUND, booking["refund"])
        # An admin route may have decided it already; then the booking lapses.
        if refund is not None and refund["status"] in ("pending", "succeeded"):
            if booking["outcome"] == "failed":
                fail_refund(sandbox, refund)
            elif refund["status"] == "pending":
                succeed_refund(sandbox, refund)
            settled += 1
        sandbox.store.put_object(SETTLEMENT, {**booking, "status": "done"})
    return settled


def _require(refund: dict[str, Any], allowed: set[str], verb: str) -> None:
    if refund["status"] not in allowed:
        raise invalid_request(
            f"Cannot {verb} refund {refund['id']}: its status is {refund['status']} "
            f"(must be {' or '.join(sorted(allowed))}).",
            param="refund",
        )


def _move(sandbox: Sandbox, refund: dict[str, Any], **changes: Any) -> None:
    changes["pending_reason"] = None
    previous = {name: refund[name] for name in changes if refund[name] != changes[name]}
    refund.update(changes)
    sandbox.store.put_object(REFUND, refund)
    if refund["status"] in ("failed", "canceled"):
        charge = sandbox.store.get_object(CHARGE, refund["charge"])
        if charge is not None:
            add_refunded(sandbox, charge, -refund["amount"])
    sandbox.events.emit("refund.updated", refund, previous=previous)
    if refund["status"] == "failed":
        sandbox.events.emit("refund.failed", refund)
    sandbox.events.emit("charge.refund.updated", refund, previous=previous)
