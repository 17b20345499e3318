"""Refunds made: `POST /v1/refunds` and the Dashboard's, with Stripe's refusals.

A refund starts `succeeded`, or `pending` on a charge whose card says so; a test
card may also have it fail later. That later outcome is booked here as a
settlement, and applied by refund_outcomes.py when the sandbox clock says it is due.
"""

from __future__ import annotations

from typing import Any

from sandbox.stripe_api import objects
from sandbox.stripe_api import params as p
from sandbox.stripe_api.charges import add_refunded, disputes_of, find_charge, refundable
from sandbox.stripe_api.errors import invalid_request
from sandbox.stripe_api.events import RequestOrigin
from sandbox.stripe_api.state import Sandbox

REFUND = "refund"
SETTLEMENT = "refund_settlement"
REASONS = {"duplicate", "fraudulent", "requested_by_customer"}
# A charge whose dispute took its money back cannot be refunded as well.
DISPUTED_STATUSES = {"needs_response", "under_review", "lost"}
_ACCEPTED = {
    "payment_intent",
    "charge",
    "amount",
    "metadata",
    "reason",
    "expand",
    "instructions_email",
    "refund_application_fee",
    "reverse_transfer",
}


def create_refund(
    sandbox: Sandbox, params: dict[str, Any], origin: RequestOrigin
) -> dict[str, Any]:
    """`POST /v1/refunds`."""
    p.reject_unknown(params, _ACCEPTED)
    charge = find_charge(
        sandbox,
        charge_id=p.optional_string(params, "charge"),
        payment_intent=p.optional_string(params, "payment_intent"),
    )
    amount = (
        None
        if params.get("amount") in (None, "")
        else p.integer(params["amount"], "amount", minimum=1)
    )
    return issue_refund(
        sandbox,
        charge,
        amount,
        p.metadata(params.get("metadata")),
        p.optional_string(params, "reason"),
        origin,
    )


def issue_refund(
    sandbox: Sandbox,
    charge: dict[str, Any],
    amount: int | None,
    metadata: dict[str, str],
    reason: str | None,
    origin: RequestOrigin,
) -> dict[str, Any]:
    """Refund `amount` of `charge` (all that remains if None): `refund.created` and
    `charge.refunded` (the charge with its running `amount_refunded`)."""
    if reason is not None and reason not in REASONS:
        raise invalid_request(
            "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
            param="reason",
        )
    _refuse_if_not_refundable(sandbox, charge)
    amount = _checked_amount(charge, amount)
    status = "pending" if charge["_refunds"] == "pending" else "succeeded"
    refund = objects.refund(charge, amount, metadata, reason, status, sandbox.clock.timestamp())
    sandbox.store.put_object(REFUND, refund)
    add_refunded(sandbox, charge, amount)
    _book_settlement(sandbox, refund, charge["_refunds"])
    sandbox.events.emit("refund.created", refund, origin)
    sandbox.events.emit("charge.refunded", charge, origin)
    return refund


def _refuse_if_not_refundable(sandbox: Sandbox, charge: dict[str, Any]) -> None:
    if any(d["status"] in DISPUTED_STATUSES for d in disputes_of(sandbox, charge)):
        raise invalid_request(
            f"Charge {charge['id']} has been charged back; cannot issue a refund.",
            code="charge_disputed",
        )
    if refundable(charge) <= 0:
        raise invalid_request(
            f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
        )


def _checked_amount(charge: dict[str, Any], amount: int | None) -> int:
    remaining = refundable(charge)
    if amount is None:
        return remaining
    if amount > remaining:
        raise invalid_request(
            f"Refund amount ({amount} {charge['currency']}) is greater than unrefunded amount "
            f"on charge ({remaining} {charge['currency']})",
            param="amount",
            code="amount_too_large",
        )
    return amount


def _book_settlement(sandbox: Sandbox, refund: dict[str, Any], behaviour: str) -> None:
    """The test cards' later outcome: pending → succeeded, or succeeded → failed."""
    if behaviour not in ("pending", "fail"):
        return
    sandbox.store.put_object(
        SETTLEMENT,
        {
            "id": f"{refund['id']}.settlement",
            "refund": refund["id"],
            "status": "due",
            "outcome": "succeeded" if behaviour == "pending" else "failed",
            "settles_at": refund["created"] + sandbox.config.refund_settle_seconds,
            "clock_offset": sandbox.clock.offset_seconds,
        },
    )


def load_refund(sandbox: Sandbox, refund_id: str) -> dict[str, Any] | None:
    return sandbox.store.get_object(REFUND, refund_id)


def refunds_of_charge(sandbox: Sandbox, charge_id: str) -> list[dict[str, Any]]:
    return [r for r in sandbox.store.list_objects(REFUND) if r["charge"] == charge_id]
