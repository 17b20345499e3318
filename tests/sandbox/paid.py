"""A Checkout Session paid with a given test card, for the tests of what follows a payment."""

from __future__ import annotations

from dataclasses import dataclass

import stripe

from tests.fixtures.stripe_sandbox import RunningStripeSandbox
from tests.sandbox.session_params import session_params

TOTAL = 4498  # session_params' two headphones and a cable, in cents
PLAIN = "4242424242424242"
REFUND_PENDING = "4000000000007726"
REFUND_FAILS = "4000000000005126"
DISPUTED_AS_FRAUD = "4000000000000259"


@dataclass(frozen=True)
class Paid:
    session: str
    payment_intent: str
    charge: str


async def paid(
    client: stripe.StripeClient,
    sandbox: RunningStripeSandbox,
    card: str = PLAIN,
    order_id: str = "order-1",
) -> Paid:
    session = await client.v1.checkout.sessions.create_async(params=session_params(order_id))
    assert sandbox.pay(session.id, card)["result"] == "paid"
    intent = await client.v1.payment_intents.retrieve_async(
        str((await client.v1.checkout.sessions.retrieve_async(session.id)).payment_intent)
    )
    assert intent.latest_charge is not None
    return Paid(session.id, intent.id, str(intent.latest_charge))
