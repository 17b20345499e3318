"""Disputes opened on a paid charge, put under review and closed won or lost, with
Stripe's `charge.dispute.*` events; the dispute test cards."""

from __future__ import annotations

import pytest
import stripe

from tests.fixtures.stripe_sandbox import RunningStripeSandbox
from tests.sandbox.paid import DISPUTED_AS_FRAUD, REFUND_PENDING, TOTAL, paid


async def test_a_dispute_takes_the_money_back_until_it_is_won(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    payment = await paid(client, stripe_sandbox)

    opened = stripe_sandbox.admin(
        "POST", "/_sandbox/disputes", {"checkout_session": payment.session}
    )
    created = stripe_sandbox.wait_for_event("charge.dispute.created")["data"]["object"]
    withdrawn = stripe_sandbox.wait_for_event("charge.dispute.funds_withdrawn")
    with pytest.raises(stripe.InvalidRequestError) as refund_refused:
        await client.v1.refunds.create_async(params={"payment_intent": payment.payment_intent})
    reviewed = stripe_sandbox.admin("POST", f"/_sandbox/disputes/{opened['id']}/review")
    updated = stripe_sandbox.wait_for_event("charge.dispute.updated")["data"]
    won = stripe_sandbox.admin("POST", f"/_sandbox/disputes/{opened['id']}/win")
    closed = stripe_sandbox.wait_for_event("charge.dispute.closed")["data"]["object"]
    reinstated = stripe_sandbox.wait_for_event("charge.dispute.funds_reinstated")
    dispute = await client.v1.disputes.retrieve_async(opened["id"])
    charge = await client.v1.charges.retrieve_async(payment.charge)

    assert opened["id"].startswith("du_") and opened["object"] == "dispute"
    assert (opened["status"], opened["amount"], opened["currency"], opened["reason"]) == (
        "needs_response",
        TOTAL,
        "usd",
        "fraudulent",
    )
    assert (opened["charge"], opened["payment_intent"]) == (payment.charge, payment.payment_intent)
    assert created == opened | {"balance_transactions": []}
    assert withdrawn["data"]["object"]["balance_transactions"][0]["amount"] == -TOTAL
    assert refund_refused.value.code == "charge_disputed"
    assert reviewed["status"] == "under_review"
    assert updated["previous_attributes"]["status"] == "needs_response"
    assert (won["status"], closed["status"], dispute.status) == ("won", "won", "won")
    assert reinstated["data"]["object"]["balance_transactions"][1]["amount"] == TOTAL
    assert (charge.disputed, charge.amount_refunded) == (True, 0)
    after = await client.v1.refunds.create_async(params={"payment_intent": payment.payment_intent})
    assert after.amount == TOTAL


async def test_a_lost_dispute_is_closed_for_good(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    payment = await paid(client, stripe_sandbox)
    opened = stripe_sandbox.admin(
        "POST",
        "/_sandbox/disputes",
        {
            "payment_intent": payment.payment_intent,
            "amount": 1000,
            "reason": "product_not_received",
        },
    )

    lost = stripe_sandbox.admin("POST", f"/_sandbox/disputes/{opened['id']}/lose")
    closed = stripe_sandbox.wait_for_event("charge.dispute.closed")["data"]["object"]
    again = [
        stripe_sandbox.http.post(f"/_sandbox/disputes/{opened['id']}/{verb}")
        for verb in ("win", "lose", "review")
    ]
    listed = await client.v1.disputes.list_async(params={"payment_intent": payment.payment_intent})

    assert (opened["amount"], opened["reason"]) == (1000, "product_not_received")
    assert (lost["status"], closed["status"]) == ("lost", "lost")
    assert [r.status_code for r in again] == [400, 400, 400]
    assert [d.id for d in listed.data] == [opened["id"]]
    assert stripe_sandbox.events(type="charge.dispute.funds_reinstated") == []


async def test_accepting_a_dispute_through_the_api_loses_it(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    payment = await paid(client, stripe_sandbox)
    opened = stripe_sandbox.admin("POST", "/_sandbox/disputes", {"charge": payment.charge})

    accepted = await client.v1.disputes.close_async(opened["id"])
    closed = stripe_sandbox.wait_for_event("charge.dispute.closed")

    assert accepted.status == "lost"
    assert closed["request"]["id"] is not None


async def test_the_fraud_test_card_is_disputed_once_it_has_paid(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    payment = await paid(client, stripe_sandbox, DISPUTED_AS_FRAUD)

    created = stripe_sandbox.wait_for_event("charge.dispute.created")["data"]["object"]

    assert (created["payment_intent"], created["reason"], created["status"]) == (
        payment.payment_intent,
        "fraudulent",
        "needs_response",
    )


async def test_a_dispute_fails_the_refunds_still_pending(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    payment = await paid(client, stripe_sandbox, REFUND_PENDING)
    refund = await client.v1.refunds.create_async(
        params={"payment_intent": payment.payment_intent, "amount": 1000}
    )

    opened = stripe_sandbox.admin(
        "POST", "/_sandbox/disputes", {"payment_intent": payment.payment_intent}
    )
    failed = await client.v1.refunds.retrieve_async(refund.id)
    second = stripe_sandbox.http.post("/_sandbox/disputes", json={"charge": payment.charge})

    assert (failed.status, failed.failure_reason) == (
        "failed",
        "charge_for_pending_refund_disputed",
    )
    assert opened["amount"] == TOTAL
    assert second.status_code == 400
