"""`POST /v1/refunds` against a PaymentIntent's charge, with Stripe's refusals."""

from __future__ import annotations

from typing import Any

from sandbox.stripe_api import objects
from sandbox.stripe_api import params as p
from sandbox.stripe_api.checkout_sessions import PAYMENT_INTENT
from sandbox.stripe_api.errors import invalid_request
from sandbox.stripe_api.events import RequestOrigin
from sandbox.stripe_api.state import Sandbox

REFUND = "refund"
_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}
_ACCEPTED = {"payment_intent", "charge", "amount", "metadata", "reason", "expand",
             "instructions_email", "refund_application_fee", "reverse_transfer"}


def create_refund(sandbox: Sandbox, params: dict[str, Any],
                  origin: RequestOrigin) -> dict[str, Any]:
    p.reject_unknown(params, _ACCEPTED)
    intent = _refunded_intent(sandbox, params)
    reason = p.optional_string(params, "reason")
    if reason is not None and reason not in _REASONS:
        raise invalid_request(
            "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
            param="reason")
    amount = _amount(params, intent)
    refund = objects.refund(intent, amount, p.metadata(params.get("metadata")), reason,
                            sandbox.clock.timestamp())
    intent["_amount_refunded"] += amount
    sandbox.store.put_object(PAYMENT_INTENT, intent)
    sandbox.store.put_object(REFUND, refund)
    sandbox.events.emit("refund.created", refund, origin)
    return refund


def _refunded_intent(sandbox: Sandbox, params: dict[str, Any]) -> dict[str, Any]:
    intent_id = p.optional_string(params, "payment_intent")
    charge_id = p.optional_string(params, "charge")
    if intent_id is None and charge_id is not None:
        intent_id = next((i["id"] for i in sandbox.store.list_objects(PAYMENT_INTENT)
                          if i["latest_charge"] == charge_id), None)
        if intent_id is None:
            raise invalid_request(f"No such charge: '{charge_id}'", param="charge",
                                  code="resource_missing")
    if intent_id is None:
        raise invalid_request(
            "One of the following params should be provided for this request: "
            "payment_intent or charge.", code="parameter_missing")
    intent = sandbox.store.get_object(PAYMENT_INTENT, intent_id)
    if intent is None:
        # A parameter naming a missing object is a 400 at Stripe, a missing URL id a 404.
        raise invalid_request(f"No such payment_intent: '{intent_id}'", param="payment_intent",
                              code="resource_missing")
    if intent["status"] != "succeeded":
        raise invalid_request(
            f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
            param="payment_intent")
    if intent["_amount_refunded"] >= intent["amount_received"]:
        raise invalid_request(f"Charge {intent['latest_charge']} has already been refunded.",
                              code="charge_already_refunded")
    return intent


def _amount(params: dict[str, Any], intent: dict[str, Any]) -> int:
    remaining: int = intent["amount_received"] - intent["_amount_refunded"]
    if params.get("amount") in (None, ""):
        return remaining
    amount = p.integer(params["amount"], "amount", minimum=1)
    if amount > remaining:
        raise invalid_request(
            f"Refund amount ({amount} {intent['currency']}) is greater than unrefunded amount "
            f"on charge ({remaining} {intent['currency']})", param="amount",
            code="amount_too_large")
    return amount
