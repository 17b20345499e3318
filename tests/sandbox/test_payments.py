"""Paying on the hosted page: test cards, decline and retry, 3-D Secure, delayed methods."""

from __future__ import annotations

import httpx
import stripe

from tests.fixtures.stripe_sandbox import RunningStripeSandbox
from tests.sandbox.session_params import hosted_page, session_params

DECLINED = "4000 0000 0000 0002"
NEEDS_AUTHENTICATION = "4000 0027 6000 3184"


async def test_paying_on_the_hosted_page_completes_and_redirects(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    session = await client.v1.checkout.sessions.create_async(params=session_params())

    async with httpx.AsyncClient() as browser:
        page = await browser.get(hosted_page(session))
        paid = await browser.post(
            hosted_page(session),
            data={"card_number": "4242 4242 4242 4242", "email": "buyer@example.com"},
        )
    after = await client.v1.checkout.sessions.retrieve_async(
        session.id, params={"expand": ["payment_intent"]}
    )
    completed = stripe_sandbox.wait_for_event("checkout.session.completed")

    assert all(f"id={name}" in page.text for name in ("card_number", "email", "pay"))
    assert 'id=cancel href="https://shop.example/cancel"' in page.text
    assert "44.98 USD" in page.text
    assert paid.status_code == 303
    assert paid.headers["location"] == f"https://shop.example/success?session_id={session.id}"
    assert (after.status, after.payment_status, after.url) == ("complete", "paid", None)
    assert isinstance(after.payment_intent, stripe.PaymentIntent)
    assert after.payment_intent.status == "succeeded"
    assert completed["data"]["object"]["payment_status"] == "paid"


async def test_a_decline_keeps_the_session_open_and_reports_the_order(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    session = await client.v1.checkout.sessions.create_async(params=session_params("order-9"))

    async with httpx.AsyncClient() as browser:
        declined = await browser.post(hosted_page(session), data={"card_number": DECLINED})
    after = await client.v1.checkout.sessions.retrieve_async(session.id)
    failed = stripe_sandbox.wait_for_event("payment_intent.payment_failed")["data"]["object"]

    assert declined.status_code == 402 and "Your card was declined." in declined.text
    assert (after.status, after.payment_status) == ("open", "unpaid")
    assert failed["id"] == after.payment_intent and failed["object"] == "payment_intent"
    assert failed["metadata"] == {"orderId": "order-9"}
    assert failed["last_payment_error"]["code"] == "card_declined"
    assert failed["last_payment_error"]["message"] == "Your card was declined."


async def test_the_customer_can_pay_after_a_decline(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    session = await client.v1.checkout.sessions.create_async(params=session_params())

    assert stripe_sandbox.pay(session.id, DECLINED)["result"] == "declined"
    paid = stripe_sandbox.pay(session.id)

    assert paid["result"] == "paid"
    assert paid["session"]["payment_intent"]["status"] == "succeeded"
    listed = await client.v1.checkout.sessions.list_async(
        params={"payment_intent": paid["session"]["payment_intent"]["id"]}
    )
    assert [s.id for s in listed.data] == [session.id]


async def test_a_complete_or_expired_session_cannot_be_paid(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    paid = await client.v1.checkout.sessions.create_async(params=session_params("a"))
    stripe_sandbox.pay(paid.id)
    expired = await client.v1.checkout.sessions.create_async(params=session_params("b"))
    await client.v1.checkout.sessions.expire_async(expired.id)

    async with httpx.AsyncClient() as browser:
        refusals = [
            await browser.post(
                s.url or f"{stripe_sandbox.url}/c/pay/{s.id}",
                data={"card_number": "4242424242424242"},
            )
            for s in (paid, expired)
        ]

    assert [r.status_code for r in refusals] == [409, 409]
    assert stripe_sandbox.pay(expired.id)["result"] == "inactive"


async def test_authentication_can_be_approved_or_failed_on_its_page(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    session = await client.v1.checkout.sessions.create_async(params=session_params())
    hosted = hosted_page(session)

    async with httpx.AsyncClient(follow_redirects=False) as browser:
        challenge = await browser.post(hosted, data={"card_number": NEEDS_AUTHENTICATION})
        page_url = f"{stripe_sandbox.url}{challenge.headers['location']}"
        page = await browser.get(page_url)
        failed = await browser.post(page_url, data={"action": "fail"})
        await browser.post(hosted, data={"card_number": NEEDS_AUTHENTICATION})
        approved = await browser.post(page_url, data={"action": "approve"})

    assert challenge.status_code == 303 and "id=approve" in page.text
    assert failed.status_code == 402
    assert approved.status_code == 303
    after = await client.v1.checkout.sessions.retrieve_async(session.id)
    assert after.payment_status == "paid"
    failure = stripe_sandbox.wait_for_event("payment_intent.payment_failed")
    assert failure["data"]["object"]["last_payment_error"]["code"] == (
        "payment_intent_authentication_failure"
    )


async def test_a_delayed_payment_completes_unpaid_then_succeeds(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    session = await client.v1.checkout.sessions.create_async(params=session_params())

    pending = stripe_sandbox.start_delayed_payment(session.id)["session"]
    settled = stripe_sandbox.settle_delayed_payment(session.id, succeeded=True)["session"]

    assert (pending["status"], pending["payment_status"]) == ("complete", "unpaid")
    assert settled["payment_status"] == "paid"
    stripe_sandbox.wait_for_event("checkout.session.async_payment_succeeded")
