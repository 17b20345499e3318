"""A refund of nothing, or of less than nothing, never reaches Stripe (issue 11 item 5)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from application.errors import CheckoutRejected
from domain.money import Money
from infrastructure.stripe.checkout_gateway import StripeCheckoutGateway
from tests.fakes import FixedClock


@pytest.mark.parametrize("minor", [0, -1, -20498])
async def test_a_refund_that_is_not_positive_is_refused_before_stripe(minor: int) -> None:
    # Nothing listens on port 9: a call that reached the network would fail differently.
    gateway = StripeCheckoutGateway(
        "sk_test_guard", api_base="http://127.0.0.1:9", frontend_url="http://shop.test",
        clock=FixedClock(datetime.now(UTC)), max_network_retries=0,
    )  # fmt: skip
    try:
        with pytest.raises(CheckoutRejected, match="positive"):
            await gateway.refund("pi_1", Money(minor, "usd"), "refund:pi_1")
    finally:
        await gateway.aclose()
