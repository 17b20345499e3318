"""Disputes (chargebacks) on a paid charge: opened, put under review, closed won or lost.

As at Stripe, opening one takes the disputed amount (and a fee) back at once
(`charge.dispute.created`, then `charge.dispute.funds_withdrawn`); submitting
evidence moves it to `under_review` (`charge.dispute.updated`); closing sends
`charge.dispute.closed` with status `won` (after `charge.dispute.funds_reinstated`:
the amount comes back) or `lost` (the money stays with the cardholder).
A dispute is not a refund: the charge's `amount_refunded` does not move.
"""

from __future__ import annotations

from typing import Any

from sandbox.stripe_api import charge_objects
from sandbox.stripe_api.charges import CHARGE, DISPUTE, disputes_of, refundable, save_charge
from sandbox.stripe_api.errors import invalid_request
from sandbox.stripe_api.events import RequestOrigin
from sandbox.stripe_api.refund_outcomes import fail_refund
from sandbox.stripe_api.refunds import refunds_of_charge
from sandbox.stripe_api.state import Sandbox

REASONS = {
    "bank_cannot_process",
    "check_returned",
    "credit_not_processed",
    "customer_initiated",
    "debit_not_authorized",
    "duplicate",
    "fraudulent",
    "general",
    "incorrect_account_details",
    "insufficient_funds",
    "noncompliant",
    "product_not_received",
    "product_unacceptable",
    "subscription_canceled",
    "unrecognized",
}
OPEN_STATUSES = {"needs_response", "under_review"}


def open_dispute(
    sandbox: Sandbox, charge: dict[str, Any], amount: int | None, reason: str
) -> dict[str, Any]:
    """Dispute `amount` of `charge` (default: all not refunded yet)."""
    if reason not in REASONS:
        raise invalid_request(f"Invalid reason; one of {sorted(REASONS)}", param="reason")
    if any(d["status"] in OPEN_STATUSES for d in disputes_of(sandbox, charge)):
        raise invalid_request(f"Charge {charge['id']} already has an open dispute.", param="charge")
    _fail_pending_refunds(sandbox, charge)
    remaining = refundable(charge)
    amount = remaining if amount is None else amount
    if not 0 < amount <= remaining:
        raise invalid_request(
            f"A dispute of {charge['id']} must be of 1 to {remaining} {charge['currency']}.",
            param="amount",
        )
    now = sandbox.clock.timestamp()
    dispute = charge_objects.dispute(charge, amount, reason, now)
    charge["disputed"] = True
    charge["_disputes"].append(dispute["id"])
    save_charge(sandbox, charge)
    _save(sandbox, dispute)
    sandbox.events.emit("charge.dispute.created", dispute)
    dispute["balance_transactions"].append(
        charge_objects.dispute_balance_transaction(dispute, withdrawal=True, now=now)
    )
    _save(sandbox, dispute)
    sandbox.events.emit("charge.dispute.funds_withdrawn", dispute)
    return dispute


def review_dispute(sandbox: Sandbox, dispute: dict[str, Any]) -> dict[str, Any]:
    """Evidence submitted: `needs_response` → `under_review`."""
    _require(dispute, {"needs_response"}, "put under review")
    previous = {"status": dispute["status"], "evidence_details": dict(dispute["evidence_details"])}
    dispute["status"] = "under_review"
    dispute["evidence_details"].update(has_evidence=True, submission_count=1)
    dispute["evidence"]["uncategorized_text"] = "Evidence submitted through the sandbox."
    _save(sandbox, dispute)
    sandbox.events.emit("charge.dispute.updated", dispute, previous=previous)
    return dispute


def close_dispute(
    sandbox: Sandbox, dispute: dict[str, Any], won: bool, origin: RequestOrigin | None = None
) -> dict[str, Any]:
    _require(dispute, OPEN_STATUSES, "close")
    dispute["status"] = "won" if won else "lost"
    if won:
        dispute["balance_transactions"].append(
            charge_objects.dispute_balance_transaction(
                dispute, withdrawal=False, now=sandbox.clock.timestamp()
            )
        )
    _save(sandbox, dispute)
    if won:
        sandbox.events.emit("charge.dispute.funds_reinstated", dispute, origin)
    sandbox.events.emit("charge.dispute.closed", dispute, origin)
    return dispute


def _fail_pending_refunds(sandbox: Sandbox, charge: dict[str, Any]) -> None:
    """Stripe fails a refund still pending when its charge is disputed."""
    for refund in refunds_of_charge(sandbox, charge["id"]):
        if refund["status"] == "pending":
            fail_refund(sandbox, refund, "charge_for_pending_refund_disputed")
            # fail_refund gave the amount back on the stored charge; read it again.
            charge.update(sandbox.store.get_object(CHARGE, charge["id"]) or {})


def _require(dispute: dict[str, Any], allowed: set[str], verb: str) -> None:
    if dispute["status"] not in allowed:
        raise invalid_request(
            f"Cannot {verb} dispute {dispute['id']}: its status is {dispute['status']}.",
            param="dispute",
        )


def load_dispute(sandbox: Sandbox, dispute_id: str) -> dict[str, Any] | None:
    return sandbox.store.get_object(DISPUTE, dispute_id)


def _save(sandbox: Sandbox, dispute: dict[str, Any]) -> None:
    sandbox.store.put_object(DISPUTE, dispute)
