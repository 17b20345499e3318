"""Expiry by the clock, refunds, the events list and persistence across a restart."""

from __future__ import annotations

from pathlib import Path

import pytest
import stripe

from tests.fixtures.stripe_sandbox import RunningStripeSandbox, StripeSandboxFactory
from tests.sandbox.session_params import session_params


async def test_advancing_the_clock_past_expires_at_expires_the_session(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    session = await client.v1.checkout.sessions.create_async(params=session_params())

    stripe_sandbox.advance_clock(30 * 60)
    still_open = await client.v1.checkout.sessions.retrieve_async(session.id)
    stripe_sandbox.advance_clock(31 * 60)
    expired = await client.v1.checkout.sessions.retrieve_async(session.id)
    event = stripe_sandbox.wait_for_event("checkout.session.expired")

    assert still_open.status == "open"
    assert expired.status == "expired"
    assert event["data"]["object"]["id"] == session.id
    later = await client.v1.checkout.sessions.create_async(params=session_params("later"))
    assert later.status == "open"


async def test_refunds_a_paid_payment_intent_once(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    session = await client.v1.checkout.sessions.create_async(params=session_params())
    intent_id = stripe_sandbox.pay(session.id)["session"]["payment_intent"]["id"]

    partial = await client.v1.refunds.create_async(
        params={"payment_intent": intent_id, "amount": 1000, "metadata": {"orderId": "order-1"}}
    )
    rest = await client.v1.refunds.create_async(params={"payment_intent": intent_id})
    with pytest.raises(stripe.InvalidRequestError) as again:
        await client.v1.refunds.create_async(params={"payment_intent": intent_id})

    assert partial.id.startswith("re_") and partial.status == "succeeded"
    assert (partial.amount, rest.amount) == (1000, 3498)
    assert again.value.code == "charge_already_refunded"


async def test_an_unpaid_payment_intent_cannot_be_refunded(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    session = await client.v1.checkout.sessions.create_async(params=session_params())
    result = stripe_sandbox.pay(session.id, "4000000000000002")

    with pytest.raises(stripe.InvalidRequestError) as refused:
        await client.v1.refunds.create_async(
            params={"payment_intent": result["session"]["payment_intent"]["id"]}
        )

    assert refused.value.http_status == 400


async def test_events_are_listed_newest_first_and_filtered(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    first = await client.v1.checkout.sessions.create_async(params=session_params("a"))
    second = await client.v1.checkout.sessions.create_async(params=session_params("b"))
    await client.v1.checkout.sessions.expire_async(first.id)
    await client.v1.checkout.sessions.expire_async(second.id)

    expired = await client.v1.events.list_async(params={"type": "checkout.session.expired"})
    page = await client.v1.events.list_async(
        params={"limit": 1, "starting_after": expired.data[0].id}
    )
    wildcard = await client.v1.events.list_async(params={"type": "checkout.session.*"})
    future = await client.v1.events.list_async(
        params={"created": {"gte": expired.data[0].created + 3600}}
    )
    one = await client.v1.events.retrieve_async(expired.data[0].id)

    assert [e.data.object.id for e in expired.data] == [second.id, first.id]
    assert [e.id for e in page.data] == [expired.data[1].id] and not page.has_more
    assert len(wildcard.data) == 2
    assert future.data == []
    assert one.type == "checkout.session.expired"


async def test_a_restart_with_a_data_dir_keeps_sessions_and_secret(
    stripe_sandbox_factory: StripeSandboxFactory,
    tmp_path: Path,
) -> None:
    sandbox = stripe_sandbox_factory(data_dir=tmp_path / "stripe")
    params = session_params()
    session = await sandbox.client().v1.checkout.sessions.create_async(
        params=params, options={"idempotency_key": "kept"}
    )
    secret = sandbox.webhook_secret

    sandbox.restart()
    kept = await sandbox.client().v1.checkout.sessions.retrieve_async(session.id)
    replayed = await sandbox.client().v1.checkout.sessions.create_async(
        params=params, options={"idempotency_key": "kept"}
    )

    assert kept.status == "open" and kept.amount_total == session.amount_total
    assert replayed.id == session.id
    assert sandbox.webhook_secret == secret
