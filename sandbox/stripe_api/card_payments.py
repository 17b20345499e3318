"""Payment attempts on a Checkout Session: test cards, 3-D Secure, delayed methods.

As at Stripe, a decline leaves the session `open` (the customer may try again)
and the PaymentIntent back in `requires_payment_method`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.stripe_api import objects
from sandbox.stripe_api.cards import (
    AUTHENTICATION_FAILED,
    BANK_DECLINED,
    SUCCEEDS,
    CardBehaviour,
    card_behaviour,
    digits,
    last4,
)
from sandbox.stripe_api.charges import create_charge
from sandbox.stripe_api.checkout_sessions import PAYMENT_INTENT, SESSION, load_intent
from sandbox.stripe_api.disputes import open_dispute
from sandbox.stripe_api.errors import invalid_request
from sandbox.stripe_api.ids import new_id
from sandbox.stripe_api.state import Sandbox


@dataclass(frozen=True)
class PaymentOutcome:
    """How an attempt ended: paid, declined, requires_action, invalid_card, inactive, pending."""

    result: str
    session: dict[str, Any]
    message: str | None = None


def pay_with_card(
    sandbox: Sandbox, session: dict[str, Any], number: str, email: str | None
) -> PaymentOutcome:
    if session["status"] != "open":
        return PaymentOutcome("inactive", session, "This Checkout Session is no longer active.")
    card = card_behaviour(number)
    if card is None:
        return PaymentOutcome("invalid_card", session, "Your card number is incorrect.")
    intent = _intent_of(sandbox, session)
    intent["payment_method"] = _payment_method(card, last4(number))
    # Remembered for what the card does after paying (refunds, disputes), also after 3DS.
    intent["_card_number"] = digits(number)
    if card.outcome == "succeeds":
        return _succeed(sandbox, session, intent, email)
    if card.outcome == "declines":
        return _decline(sandbox, session, intent, card)
    intent.update(status="requires_action", next_action={"type": "use_stripe_sdk"}, _email=email)
    sandbox.store.put_object(PAYMENT_INTENT, intent)
    return PaymentOutcome("requires_action", session)


def authenticate(sandbox: Sandbox, session: dict[str, Any], approve: bool) -> PaymentOutcome:
    """The customer's answer to the simulated 3-D Secure challenge."""
    intent_id = session["payment_intent"]
    intent = None if intent_id is None else load_intent(sandbox, intent_id)
    if session["status"] != "open" or intent is None or intent["status"] != "requires_action":
        return PaymentOutcome("inactive", session, "There is no payment awaiting authentication.")
    if approve:
        return _succeed(sandbox, session, intent, intent.get("_email"))
    return _decline(sandbox, session, intent, AUTHENTICATION_FAILED)


def start_delayed_payment(
    sandbox: Sandbox, session: dict[str, Any], email: str | None
) -> PaymentOutcome:
    """A bank debit: the session completes `unpaid` and the money is confirmed later."""
    if session["status"] != "open":
        raise invalid_request("This Checkout Session is no longer active.", param="session")
    intent = _intent_of(sandbox, session)
    intent.update(status="processing", payment_method=None, last_payment_error=None)
    intent.pop("_card_number", None)
    sandbox.store.put_object(PAYMENT_INTENT, intent)
    _complete(sandbox, session, "unpaid", email)
    sandbox.events.emit("checkout.session.completed", session)
    return PaymentOutcome("pending", session)


def settle_delayed_payment(
    sandbox: Sandbox, session: dict[str, Any], succeeded: bool
) -> PaymentOutcome:
    intent_id = session["payment_intent"]
    intent = None if intent_id is None else load_intent(sandbox, intent_id)
    if intent is None or intent["status"] != "processing":
        raise invalid_request(
            "This Checkout Session has no delayed payment in progress.", param="session"
        )
    if succeeded:
        _mark_succeeded(sandbox, intent)
        session["payment_status"] = "paid"
        sandbox.store.put_object(SESSION, session)
        sandbox.events.emit("checkout.session.async_payment_succeeded", session)
        return PaymentOutcome("paid", session)
    _mark_failed(sandbox, intent, BANK_DECLINED)
    sandbox.events.emit("checkout.session.async_payment_failed", session)
    return PaymentOutcome("declined", session)


def _intent_of(sandbox: Sandbox, session: dict[str, Any]) -> dict[str, Any]:
    """The session's PaymentIntent, created on the first payment attempt."""
    if session["payment_intent"] is not None:
        return load_intent(sandbox, session["payment_intent"])
    intent = objects.payment_intent(session, sandbox.clock.timestamp())
    sandbox.store.put_object(PAYMENT_INTENT, intent)
    session["payment_intent"] = intent["id"]
    sandbox.store.put_object(SESSION, session)
    sandbox.events.emit("payment_intent.created", intent)
    return intent


def _succeed(
    sandbox: Sandbox, session: dict[str, Any], intent: dict[str, Any], email: str | None
) -> PaymentOutcome:
    charge = _mark_succeeded(sandbox, intent)
    _complete(sandbox, session, "paid", email)
    sandbox.events.emit("checkout.session.completed", session)
    if charge["_dispute_reason"] is not None:  # Stripe's dispute test cards
        open_dispute(sandbox, charge, None, charge["_dispute_reason"])
    return PaymentOutcome("paid", session)


def _decline(
    sandbox: Sandbox, session: dict[str, Any], intent: dict[str, Any], card: CardBehaviour
) -> PaymentOutcome:
    _mark_failed(sandbox, intent, card)
    return PaymentOutcome("declined", session, card.message)


def _mark_succeeded(sandbox: Sandbox, intent: dict[str, Any]) -> dict[str, Any]:
    card = card_behaviour(intent.get("_card_number", "")) or SUCCEEDS
    charge = create_charge(sandbox, intent, card)
    intent.update(
        status="succeeded",
        amount_received=intent["amount"],
        latest_charge=charge["id"],
        last_payment_error=None,
        next_action=None,
    )
    sandbox.store.put_object(PAYMENT_INTENT, intent)
    sandbox.events.emit("payment_intent.succeeded", intent)
    return charge


def _mark_failed(sandbox: Sandbox, intent: dict[str, Any], card: CardBehaviour) -> None:
    error: dict[str, Any] = {
        "type": "card_error",
        "code": card.error_code,
        "decline_code": card.decline_code,
        "message": card.message,
        "payment_method": intent.get("payment_method"),
        "doc_url": "https://stripe.com/docs/error-codes/"
        + (card.error_code or "").replace("_", "-"),
    }
    intent.update(status="requires_payment_method", last_payment_error=error, next_action=None)
    sandbox.store.put_object(PAYMENT_INTENT, intent)
    sandbox.events.emit("payment_intent.payment_failed", intent)


def _complete(
    sandbox: Sandbox, session: dict[str, Any], payment_status: str, email: str | None
) -> None:
    session.update(
        status="complete",
        payment_status=payment_status,
        url=None,
        customer_details=objects.paid_customer_details(email or session["customer_email"]),
    )
    sandbox.store.put_object(SESSION, session)


def _payment_method(card: CardBehaviour, digits: str) -> dict[str, Any]:
    return {
        "id": new_id("pm"),
        "object": "payment_method",
        "type": "card",
        "card": {
            "brand": card.brand,
            "last4": digits,
            "exp_month": 12,
            "exp_year": 2034,
            "country": "US",
            "funding": "credit",
        },
    }
