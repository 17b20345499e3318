"""The Charge behind a succeeded PaymentIntent: what was captured, refunded and disputed."""

from __future__ import annotations

from typing import Any

from sandbox.stripe_api import charge_objects
from sandbox.stripe_api.cards import CardBehaviour
from sandbox.stripe_api.checkout_sessions import PAYMENT_INTENT, load_session
from sandbox.stripe_api.errors import invalid_request
from sandbox.stripe_api.state import Sandbox

CHARGE = "charge"
DISPUTE = "dispute"


def create_charge(sandbox: Sandbox, intent: dict[str, Any], card: CardBehaviour) -> dict[str, Any]:
    charge = charge_objects.charge(
        intent, card.refunds, card.dispute_reason, sandbox.clock.timestamp()
    )
    sandbox.store.put_object(CHARGE, charge)
    return charge


def save_charge(sandbox: Sandbox, charge: dict[str, Any]) -> None:
    sandbox.store.put_object(CHARGE, charge)


def refundable(charge: dict[str, Any]) -> int:
    """What refunds may still give back: pending and succeeded refunds count as given."""
    remaining: int = charge["amount_captured"] - charge["amount_refunded"]
    return remaining


def add_refunded(sandbox: Sandbox, charge: dict[str, Any], amount: int) -> None:
    """A refund made (positive) or failed/canceled (negative) moves the running total."""
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
    save_charge(sandbox, charge)


def disputes_of(sandbox: Sandbox, charge: dict[str, Any]) -> list[dict[str, Any]]:
    found = (sandbox.store.get_object(DISPUTE, d) for d in charge["_disputes"])
    return [d for d in found if d is not None]


def charge_of_intent(sandbox: Sandbox, intent: dict[str, Any]) -> dict[str, Any] | None:
    """The intent's charge; None before it succeeded."""
    charge_id = intent.get("latest_charge")
    if charge_id is None:
        return None
    charge = sandbox.store.get_object(CHARGE, charge_id)
    return charge if charge is not None else _charge_from_old_store(sandbox, intent)


def _charge_from_old_store(sandbox: Sandbox, intent: dict[str, Any]) -> dict[str, Any]:
    """A data dir written before charges were objects kept the refunded total on the intent."""
    charge = charge_objects.charge(intent, "succeed", None, intent["created"])
    charge["id"] = intent["latest_charge"]
    charge["amount_refunded"] = intent.get("_amount_refunded", 0)
    charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
    save_charge(sandbox, charge)
    return charge


def find_charge(
    sandbox: Sandbox,
    *,
    charge_id: str | None = None,
    payment_intent: str | None = None,
    checkout_session: str | None = None,
) -> dict[str, Any]:
    """The paid charge named by one of its ids, refused (400) as Stripe refuses a bad param."""
    if checkout_session is not None:
        payment_intent = load_session(sandbox, checkout_session)["payment_intent"]
        if payment_intent is None:
            raise invalid_request(
                f"Checkout Session {checkout_session} has not been paid.", param="checkout_session"
            )
    if charge_id is not None:
        charge = sandbox.store.get_object(CHARGE, charge_id)
        if charge is None:
            raise invalid_request(
                f"No such charge: '{charge_id}'", param="charge", code="resource_missing"
            )
        return charge
    if payment_intent is None:
        raise invalid_request(
            "One of the following params should be provided for this request: "
            "payment_intent or charge.",
            code="parameter_missing",
        )
    intent = sandbox.store.get_object(PAYMENT_INTENT, payment_intent)
    if intent is None:
        # A parameter naming a missing object is a 400 at Stripe, a missing URL id a 404.
        raise invalid_request(
            f"No such payment_intent: '{payment_intent}'",
            param="payment_intent",
            code="resource_missing",
        )
    charge = charge_of_intent(sandbox, intent) if intent["status"] == "succeeded" else None
    if charge is None:
        raise invalid_request(
            f"This PaymentIntent ({payment_intent}) does not have a successful charge to refund.",
            param="payment_intent",
        )
    return charge
