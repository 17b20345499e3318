"""Money paid on a Checkout Session of the order that is not the order's recorded one."""

from __future__ import annotations

import msgspec

from domain.money import Money


class StrayPayment(msgspec.Struct, frozen=True):
    """Paid on a duplicate session (its expiry failed, or its create lost a race).

    It never pays for the order, whatever its amount: it is refunded in full, under a
    Stripe idempotency key of its own (its PaymentIntent), and the order's own payment
    goes on as if it had never happened.
    """

    session_id: str
    payment_intent: str
    amount: Money
    refund_id: str | None = None

    @property
    def refunded(self) -> bool:
        return self.refund_id is not None
