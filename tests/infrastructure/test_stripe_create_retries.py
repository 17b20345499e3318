"""A failed create-session can be retried at once (issue 11 item 4), against the Stripe sandbox.

Stripe saves a 5xx for its idempotency key and replays it for 24 h. After a failed
attempt the next one must therefore use a new key, at once, in any process; yet a
create that did reach Stripe (its answer lost on the way back) must be found again, not
doubled. The gateway learns which from Stripe itself: a replayed 5xx
(`Idempotent-Replayed: true`) means this key is spent, so it moves on to the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from application.errors import CheckoutUnavailable
from application.ports import CheckoutRequest
from infrastructure.stripe.checkout_gateway import StripeCheckoutGateway
from tests.fakes import FixedClock, an_order
from tests.fixtures.stripe_sandbox import RunningStripeSandbox, StripeSandboxOptions

FRONTEND = "http://shop.test"
_orders = iter(range(1, 10_000))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStripeSandbox]:
    log = tmp_path_factory.mktemp("create-retries") / "sandbox.log"
    running = RunningStripeSandbox(StripeSandboxOptions(deliver=False), Path(log)).start()
    yield running
    running.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC))


def gateway_for(
    sandbox: RunningStripeSandbox, clock: FixedClock, timeout_seconds: float = 10.0
) -> StripeCheckoutGateway:
    return StripeCheckoutGateway(
        sandbox.api_key, api_base=sandbox.url, frontend_url=FRONTEND, clock=clock,
        max_network_retries=0, timeout_seconds=timeout_seconds,
    )  # fmt: skip


@pytest.fixture
async def gateway(
    sandbox: RunningStripeSandbox, clock: FixedClock
) -> AsyncIterator[StripeCheckoutGateway]:
    sandbox.clear_faults()
    gateway = gateway_for(sandbox, clock)
    yield gateway
    await gateway.aclose()
    sandbox.clear_faults()


def new_request() -> CheckoutRequest:
    order = an_order(f"ord_retry_{next(_orders)}_{datetime.now(UTC).timestamp():.0f}")
    return CheckoutRequest(order, "buyer@example.com", f"checkout:{order.order_id}")


def sessions_of(sandbox: RunningStripeSandbox, order_id: str) -> list[dict[str, Any]]:
    response = sandbox.http.get(
        "/v1/checkout/sessions?limit=100",
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
    )
    response.raise_for_status()
    data: list[dict[str, Any]] = response.json()["data"]
    return [s for s in data if (s.get("metadata") or {}).get("orderId") == order_id]


async def test_after_a_failed_create_the_next_attempt_succeeds_at_once(
    gateway: StripeCheckoutGateway, sandbox: RunningStripeSandbox
) -> None:
    request = new_request()
    sandbox.arm_fault("checkout.sessions.create", status=500)
    with pytest.raises(CheckoutUnavailable):
        await gateway.open_session(request)

    session = await gateway.open_session(request)  # same time bucket, no waiting

    assert session.status == "open"
    assert [s["id"] for s in sessions_of(sandbox, request.order.order_id)] == [session.session_id]


async def test_each_failure_moves_the_next_attempt_to_a_fresh_key(
    gateway: StripeCheckoutGateway, sandbox: RunningStripeSandbox
) -> None:
    request = new_request()
    sandbox.arm_fault("checkout.sessions.create", status=503, times=3)
    for _ in range(3):
        with pytest.raises(CheckoutUnavailable):
            await gateway.open_session(request)

    session = await gateway.open_session(request)
    again = await gateway.open_session(request)

    assert again.session_id == session.session_id  # the working key is found again
    assert session.attempt.endswith(":3") and again.attempt == session.attempt


async def test_another_process_skips_the_spent_key_too(
    gateway: StripeCheckoutGateway, sandbox: RunningStripeSandbox, clock: FixedClock
) -> None:
    """Nothing is remembered in the process: Stripe's replay is what tells a spent key."""
    request = new_request()
    sandbox.arm_fault("checkout.sessions.create", status=500)
    with pytest.raises(CheckoutUnavailable):
        await gateway.open_session(request)

    other = gateway_for(sandbox, clock)
    try:
        session = await other.open_session(request)
    finally:
        await other.aclose()

    assert session.status == "open"


async def test_a_create_whose_answer_was_lost_is_found_again_not_doubled(
    sandbox: RunningStripeSandbox, clock: FixedClock
) -> None:
    """Stripe made the session but our call timed out: the same key gets it back."""
    request = new_request()
    sandbox.clear_faults()
    sandbox.arm_fault("checkout.sessions.create", status=None, delay_seconds=2.0)
    impatient = gateway_for(sandbox, clock, timeout_seconds=0.5)
    try:
        with pytest.raises(CheckoutUnavailable):
            await impatient.open_session(request)
        await asyncio.sleep(2.5)  # Stripe finishes the create and saves its answer
        session = await impatient.open_session(request)
    finally:
        await impatient.aclose()

    assert [s["id"] for s in sessions_of(sandbox, request.order.order_id)] == [session.session_id]


async def test_the_session_and_its_payment_intent_carry_the_attempt(
    gateway: StripeCheckoutGateway, sandbox: RunningStripeSandbox
) -> None:
    request = new_request()
    session = await gateway.open_session(request)

    stored = sessions_of(sandbox, request.order.order_id)[0]

    assert session.attempt.startswith(f"checkout:{request.order.order_id}:")
    assert stored["metadata"]["checkoutAttempt"] == session.attempt
    assert session.order_id == request.order.order_id
    paid = sandbox.pay(session.session_id)
    assert paid["result"] == "paid"
    intent = paid["session"]["payment_intent"]  # expanded
    assert intent["metadata"]["checkoutAttempt"] == session.attempt


async def test_open_sessions_are_listed_with_their_order_and_attempt(
    gateway: StripeCheckoutGateway, clock: FixedClock
) -> None:
    request = new_request()
    session = await gateway.open_session(request)

    listed = await gateway.open_sessions(created_after=clock.now() - timedelta(hours=1))

    mine = [s for s in listed if s.session_id == session.session_id]
    assert [(s.order_id, s.attempt, s.status) for s in mine] == [
        (request.order.order_id, session.attempt, "open")
    ]
    assert mine[0].created is not None


async def test_a_payment_intent_is_read_back_with_its_status(
    gateway: StripeCheckoutGateway, sandbox: RunningStripeSandbox
) -> None:
    session = await gateway.open_session(new_request())
    paid = sandbox.pay(session.session_id)

    intent = await gateway.retrieve_payment_intent(paid["session"]["payment_intent"]["id"])

    assert intent.status == "succeeded"
