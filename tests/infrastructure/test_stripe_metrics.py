"""Stripe call latency and errors, as the gateway reports them, against the Stripe sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from application.errors import CheckoutUnavailable
from application.ports import CheckoutRequest
from infrastructure.metrics.instruments import ServiceMetrics
from infrastructure.stripe.checkout_gateway import StripeCheckoutGateway
from tests.fakes import FixedClock, an_order
from tests.fixtures.stripe_sandbox import RunningStripeSandbox, StripeSandboxOptions
from tests.metrics_text import sample


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStripeSandbox]:
    log = tmp_path_factory.mktemp("stripe-metrics") / "sandbox.log"
    running = RunningStripeSandbox(StripeSandboxOptions(deliver=False), Path(log)).start()
    yield running
    running.close()


async def test_each_call_is_timed_and_each_failure_counted_by_error_class(
    sandbox: RunningStripeSandbox,
) -> None:
    metrics = ServiceMetrics()
    gateway = StripeCheckoutGateway(
        sandbox.api_key, api_base=sandbox.url, frontend_url="http://shop.test",
        clock=FixedClock(datetime.now(UTC)), max_network_retries=0, meter=metrics,
    )  # fmt: skip
    try:
        session = await gateway.open_session(
            CheckoutRequest(an_order("ord_metrics_1"), "buyer@example.com", "checkout:1")
        )
        await gateway.retrieve_session(session.session_id)
        sandbox.arm_fault("checkout.sessions.create", status=500)
        with pytest.raises(CheckoutUnavailable):
            await gateway.open_session(
                CheckoutRequest(an_order("ord_metrics_2"), "buyer@example.com", "checkout:2")
            )
    finally:
        await gateway.aclose()
    text = generate_latest(metrics.registry).decode()

    timed = "payments_stripe_call_duration_seconds_count"
    assert sample(text, timed, operation="create_checkout_session") == 2
    assert sample(text, timed, operation="retrieve_checkout_session") == 1
    errors = "payments_stripe_call_errors_total"
    assert sample(text, errors, operation="create_checkout_session", error="APIError") == 1
    assert sample(text, errors, operation="retrieve_checkout_session") is None
