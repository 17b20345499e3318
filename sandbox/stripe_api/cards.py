"""Stripe's test cards and what each one does."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CardBehaviour:
    """What paying with a test card does."""

    outcome: str  # succeeds | declines | authenticates
    brand: str
    decline_code: str | None = None
    error_code: str | None = None
    message: str | None = None
    refunds: str = "succeed"  # succeed | pending (then succeed) | fail (succeed, then fail)
    dispute_reason: str | None = None  # the charge is disputed at once, for this reason


_DECLINED = "Your card was declined."

TEST_CARDS: dict[str, CardBehaviour] = {
    "4242424242424242": CardBehaviour("succeeds", "visa"),
    "5555555555554444": CardBehaviour("succeeds", "mastercard"),
    "4000000000000002": CardBehaviour(
        "declines", "visa", "generic_decline", "card_declined", _DECLINED
    ),
    "4000000000009995": CardBehaviour(
        "declines",
        "visa",
        "insufficient_funds",
        "card_declined",
        "Your card has insufficient funds.",
    ),
    "4000000000000069": CardBehaviour(
        "declines", "visa", "expired_card", "expired_card", "Your card has expired."
    ),
    "4000002760003184": CardBehaviour("authenticates", "visa"),
    "4000002500003155": CardBehaviour("authenticates", "visa"),
    # Stripe's "Simulate an asynchronous refund" cards: a refund starts `pending` and
    # succeeds later, or starts `succeeded` and fails later (see refund_outcomes.py).
    "4000000000007726": CardBehaviour("succeeds", "visa", refunds="pending"),
    "4000000000005126": CardBehaviour("succeeds", "visa", refunds="fail"),
    # Stripe's "Simulate a dispute" cards: the charge succeeds, then is disputed.
    "4000000000000259": CardBehaviour("succeeds", "visa", dispute_reason="fraudulent"),
    "4000000000002685": CardBehaviour("succeeds", "visa", dispute_reason="product_not_received"),
}

SUCCEEDS = CardBehaviour("succeeds", "visa")

AUTHENTICATION_FAILED = CardBehaviour(
    "declines",
    "visa",
    None,
    "payment_intent_authentication_failure",
    "We are unable to authenticate your payment method. Please choose a different payment "
    "method and try again.",
)

BANK_DECLINED = CardBehaviour(
    "declines",
    "bank",
    "generic_decline",
    "payment_method_provider_decline",
    "The customer's bank declined the payment.",
)


def card_behaviour(number: str) -> CardBehaviour | None:
    """The behaviour of a test card, ignoring spaces and dashes; None if not a test card."""
    return TEST_CARDS.get(digits(number))


def digits(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())


def last4(number: str) -> str:
    return digits(number)[-4:]
