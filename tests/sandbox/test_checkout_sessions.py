"""Checkout Sessions over the real SDK: create, retrieve, list, expire, validation."""

from __future__ import annotations

import time

import pytest
import stripe

from tests.fixtures.stripe_sandbox import RunningStripeSandbox
from tests.sandbox.session_params import session_params


async def test_create_returns_a_stripe_shaped_open_session(
    client: stripe.StripeClient, stripe_sandbox: RunningStripeSandbox
) -> None:
    session = await client.v1.checkout.sessions.create_async(params=session_params())

    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert (session.status, session.payment_status, session.mode) == ("open", "unpaid", "payment")
    assert (session.amount_total, session.amount_subtotal, session.currency) == (4498, 4498, "usd")
    assert session.metadata is not None
    assert session.metadata.to_dict() == {"orderId": "order-1", "userId": "user-1"}
    assert session.client_reference_id == "order-1"
    assert session.payment_intent is None
    assert session.livemode is False
    assert session.url == f"{stripe_sandbox.url}/c/pay/{session.id}"


async def test_retrieve_expands_line_items_and_list_filters_by_status(
    client: stripe.StripeClient,
) -> None:
    first = await client.v1.checkout.sessions.create_async(params=session_params("o-1"))
    second = await client.v1.checkout.sessions.create_async(params=session_params("o-2"))
    await client.v1.checkout.sessions.expire_async(first.id)

    fetched = await client.v1.checkout.sessions.retrieve_async(
        second.id, params={"expand": ["line_items"]}
    )
    expired = await client.v1.checkout.sessions.list_async(params={"status": "expired"})
    everything = await client.v1.checkout.sessions.list_async(params={"limit": 1})

    assert fetched.line_items is not None
    assert [item.quantity for item in fetched.line_items.data] == [2, 1]
    assert [s.id for s in expired.data] == [first.id]
    assert [s.id for s in everything.data] == [second.id] and everything.has_more


async def test_only_an_open_session_can_be_expired(client: stripe.StripeClient) -> None:
    session = await client.v1.checkout.sessions.create_async(params=session_params())

    expired = await client.v1.checkout.sessions.expire_async(session.id)
    with pytest.raises(stripe.InvalidRequestError) as again:
        await client.v1.checkout.sessions.expire_async(session.id)

    assert (expired.status, expired.url) == ("expired", None)
    assert again.value.http_status == 400


async def test_expires_at_outside_30_minutes_to_24_hours_is_refused(
    client: stripe.StripeClient,
) -> None:
    for expires_at in (int(time.time()) + 600, int(time.time()) + 25 * 3600):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            await client.v1.checkout.sessions.create_async(
                params=session_params(expires_at=expires_at)
            )
        assert refused.value.param == "expires_at"


async def test_missing_and_unknown_parameters_are_refused_like_stripe(
    client: stripe.StripeClient,
) -> None:
    params = session_params()
    del params["line_items"][0]["price_data"]["unit_amount"]
    with pytest.raises(stripe.InvalidRequestError) as missing:
        await client.v1.checkout.sessions.create_async(params=params)
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        await client.v1.checkout.sessions.create_async(params=session_params(colour="red"))

    assert missing.value.param == "line_items[0][price_data][unit_amount]"
    assert (unknown.value.param, unknown.value.code) == ("colour", "parameter_unknown")


async def test_unknown_session_is_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        await client.v1.checkout.sessions.retrieve_async("cs_test_nope")

    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")


async def test_bad_api_key_is_an_authentication_error(
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    client = stripe_sandbox.client(api_key="sk_live_not_a_test_key")

    with pytest.raises(stripe.AuthenticationError) as refused:
        await client.v1.checkout.sessions.create_async(params=session_params())

    assert refused.value.http_status == 401


async def test_responses_carry_a_request_id(client: stripe.StripeClient) -> None:
    session = await client.v1.checkout.sessions.create_async(params=session_params())

    assert session.last_response is not None
    assert (session.last_response.request_id or "").startswith("req_")


async def test_metadata_over_stripe_limits_is_refused(client: stripe.StripeClient) -> None:
    too_many = {f"k{n}": "v" for n in range(51)}

    with pytest.raises(stripe.InvalidRequestError) as refused:
        await client.v1.checkout.sessions.create_async(params=session_params(metadata=too_many))

    assert refused.value.param == "metadata"
