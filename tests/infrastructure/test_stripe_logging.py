"""With LOG_LEVEL=DEBUG the Stripe SDK still writes no request or response body to the log."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from application.ports import CheckoutRequest
from infrastructure.stripe.checkout_gateway import StripeCheckoutGateway
from infrastructure.structured_logging import (
    QUIET_LIBRARIES,
    configure_logging,
    logging_dict_config,
)
from tests.fakes import FixedClock, an_order
from tests.fixtures.stripe_sandbox import RunningStripeSandbox

CUSTOMER_EMAIL = "leaky.customer@example.com"


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Logging as `LOG_LEVEL=DEBUG` configures it, into a string; restored afterwards."""
    root = logging.getLogger()
    libraries = [logging.getLogger(name) for name in QUIET_LIBRARIES]
    saved = (root.handlers[:], root.level, [library.level for library in libraries])
    stream = io.StringIO()
    configure_logging("DEBUG", stream)
    yield stream
    root.handlers[:], root.level = saved[0], saved[1]
    for library, level in zip(libraries, saved[2], strict=True):
        library.setLevel(level)


async def test_a_stripe_call_leaves_no_body_in_a_debug_log(
    stripe_sandbox: RunningStripeSandbox, debug_log: io.StringIO
) -> None:
    gateway = StripeCheckoutGateway(
        stripe_sandbox.api_key,
        api_base=stripe_sandbox.url,
        frontend_url="http://shop.test",
        clock=FixedClock(datetime.now(UTC)),
        max_network_retries=0,
    )
    order = an_order("ord_debug_log")
    try:
        session = await gateway.open_session(
            CheckoutRequest(order, CUSTOMER_EMAIL, f"checkout:{order.order_id}")
        )
    finally:
        await gateway.aclose()
    logging.getLogger("payments.test").debug("debug lines are kept")

    text = debug_log.getvalue()
    assert "debug lines are kept" in text
    assert CUSTOMER_EMAIL not in text and "leaky.customer%40example.com" not in text
    assert session.url not in text  # the response body's hosted page link
    assert '"logger":"stripe"' not in text


def test_granian_processes_keep_the_libraries_quiet_too() -> None:
    loggers = logging_dict_config("DEBUG")["loggers"]
    assert {name: loggers[name]["level"] for name in QUIET_LIBRARIES} == {
        "httpx": "WARNING",
        "stripe": "WARNING",
    }
    assert logging_dict_config("ERROR")["loggers"]["stripe"]["level"] == "ERROR"
