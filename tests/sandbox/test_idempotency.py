"""Idempotency keys behave as Stripe's: replay, mismatch, saved 5xx, in-flight conflict."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import stripe

from tests.fixtures.stripe_sandbox import RunningStripeSandbox
from tests.sandbox.session_params import session_params


async def test_same_key_and_parameters_replay_the_first_session(
    client: stripe.StripeClient,
) -> None:
    params = session_params()
    first = await client.v1.checkout.sessions.create_async(
        params=params, options={"idempotency_key": "order-1"}
    )
    again = await client.v1.checkout.sessions.create_async(
        params=params, options={"idempotency_key": "order-1"}
    )

    assert again.id == first.id
    assert again.last_response is not None
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    listed = await client.v1.checkout.sessions.list_async()
    assert len(listed.data) == 1


async def test_same_key_with_other_parameters_is_an_idempotency_error(
    client: stripe.StripeClient,
) -> None:
    await client.v1.checkout.sessions.create_async(
        params=session_params("order-1"), options={"idempotency_key": "k"}
    )

    with pytest.raises(stripe.IdempotencyError):
        await client.v1.checkout.sessions.create_async(
            params=session_params("order-2"), options={"idempotency_key": "k"}
        )


async def test_a_refused_request_does_not_use_up_its_key(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.checkout.sessions.create_async(
            params=session_params(mode="setup"), options={"idempotency_key": "k"}
        )

    created = await client.v1.checkout.sessions.create_async(
        params=session_params(), options={"idempotency_key": "k"}
    )

    assert created.status == "open"


async def test_an_injected_500_is_replayed_for_its_key_but_a_new_key_works(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    stripe_sandbox.arm_fault("checkout.sessions.create", status=500)
    params = session_params()

    for _ in range(2):
        with pytest.raises(stripe.APIError) as failed:
            await client.v1.checkout.sessions.create_async(
                params=params, options={"idempotency_key": "poisoned"}
            )
        assert failed.value.http_status == 500
    fresh = await client.v1.checkout.sessions.create_async(
        params=params, options={"idempotency_key": "fresh"}
    )

    assert failed.value.headers is not None
    assert failed.value.headers["Idempotent-Replayed"] == "true"
    assert fresh.status == "open"


async def test_a_key_still_in_flight_gets_409(stripe_sandbox: RunningStripeSandbox) -> None:
    # The first request holds its key for 5 s: wide enough that the second always lands
    # while it is in flight, however slowly the two are sent.
    stripe_sandbox.arm_fault("checkout.sessions.create", status=None, delay_seconds=5.0)
    headers = {"Authorization": f"Bearer {stripe_sandbox.api_key}", "Idempotency-Key": "slow"}
    body = {
        "mode": "payment",
        "success_url": "https://shop.example/ok",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "100",
        "line_items[0][price_data][product_data][name]": "Pen",
        "line_items[0][quantity]": "1",
    }

    async with httpx.AsyncClient(
        base_url=stripe_sandbox.url, headers=headers, timeout=30.0
    ) as http:
        both = await asyncio.gather(
            *(http.post("/v1/checkout/sessions", data=body) for _ in range(2))
        )
        replay = await http.post("/v1/checkout/sessions", data=body)

    first, conflict = sorted(both, key=lambda response: response.status_code)
    assert (first.status_code, conflict.status_code) == (200, 409)
    assert conflict.json()["error"]["type"] == "idempotency_error"
    assert replay.json()["id"] == first.json()["id"]
