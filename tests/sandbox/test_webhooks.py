"""Webhook delivery: Stripe's envelope and signature, retries, delivery switch."""

from __future__ import annotations

import json

import stripe

from tests.fixtures.stripe_sandbox import StripeSandboxFactory
from tests.sandbox.polling import eventually
from tests.sandbox.session_params import session_params
from tests.sandbox.webhook_receiver import WebhookReceiver


async def test_events_are_signed_as_stripe_signs_them(
    stripe_sandbox_factory: StripeSandboxFactory,
    webhook_receiver: WebhookReceiver,
) -> None:
    sandbox = stripe_sandbox_factory(forward_to=[webhook_receiver.url])
    session = await sandbox.client().v1.checkout.sessions.create_async(params=session_params())
    await sandbox.client().v1.checkout.sessions.expire_async(session.id)

    [received] = webhook_receiver.wait_for(1)
    event = stripe.Webhook.construct_event(
        received.body, received.headers["Stripe-Signature"], sandbox.webhook_secret
    )
    envelope = json.loads(received.body)

    assert event.type == "checkout.session.expired"
    assert envelope["data"]["object"]["id"] == session.id
    assert envelope["id"].startswith("evt_") and envelope["object"] == "event"
    assert envelope["livemode"] is False and envelope["api_version"]
    assert envelope["request"]["id"].startswith("req_")
    assert {"created", "pending_webhooks"} <= envelope.keys()


async def test_a_failed_delivery_is_retried_until_it_succeeds(
    stripe_sandbox_factory: StripeSandboxFactory,
    webhook_receiver: WebhookReceiver,
) -> None:
    webhook_receiver.statuses = [500, 503]
    sandbox = stripe_sandbox_factory(forward_to=[webhook_receiver.url], retry_base_seconds=0.1)
    session = await sandbox.client().v1.checkout.sessions.create_async(params=session_params())
    await sandbox.client().v1.checkout.sessions.expire_async(session.id)

    attempts = webhook_receiver.wait_for(3)
    event_id = json.loads(attempts[0].body)["id"]
    eventually(lambda: not sandbox.events(delivery_success="false"))

    assert {json.loads(a.body)["id"] for a in attempts} == {event_id}
    assert [a["status"] for a in sandbox.deliveries(event_id)["attempts"]] == [500, 503, 200]
    assert [e["id"] for e in sandbox.events(delivery_success="true")] == [event_id]


async def test_events_wait_while_delivery_is_off_and_go_out_when_on(
    stripe_sandbox_factory: StripeSandboxFactory,
    webhook_receiver: WebhookReceiver,
) -> None:
    sandbox = stripe_sandbox_factory(forward_to=[webhook_receiver.url], deliver=False)
    session = await sandbox.client().v1.checkout.sessions.create_async(params=session_params())
    sandbox.pay(session.id)

    undelivered = await sandbox.client().v1.events.list_async(params={"delivery_success": False})
    assert "checkout.session.completed" in [e.type for e in undelivered.data]
    assert webhook_receiver.received == []

    sandbox.set_delivery(True)
    webhook_receiver.wait_for(len(undelivered.data))
    delivered = {json.loads(r.body)["id"] for r in webhook_receiver.received}
    assert delivered == {e.id for e in undelivered.data}


async def test_an_event_can_be_redelivered_to_an_endpoint_added_later(
    stripe_sandbox_factory: StripeSandboxFactory,
    webhook_receiver: WebhookReceiver,
) -> None:
    sandbox = stripe_sandbox_factory()
    session = await sandbox.client().v1.checkout.sessions.create_async(params=session_params())
    await sandbox.client().v1.checkout.sessions.expire_async(session.id)
    event = sandbox.wait_for_event("checkout.session.expired")

    sandbox.set_forward_to(webhook_receiver.url)
    sandbox.redeliver(event["id"])

    [received] = webhook_receiver.wait_for(1)
    assert json.loads(received.body)["id"] == event["id"]
