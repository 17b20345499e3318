"""Refunds that succeed, stay pending or fail later, as the card or an admin route decides,
with Stripe's refund and charge events; and refunds made in the Dashboard."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import stripe

from sandbox.stripe_api.config import SandboxConfig
from sandbox.stripe_api.events import RequestOrigin
from sandbox.stripe_api.refunds import create_refund
from sandbox.stripe_api.state import build_sandbox
from tests.fixtures.stripe_sandbox import Event, RunningStripeSandbox, StripeSandboxFactory
from tests.sandbox.paid import PLAIN, REFUND_FAILS, REFUND_PENDING, TOTAL, paid
from tests.sandbox.session_params import session_params


def _about(refund_id: str) -> Callable[[Event], bool]:
    return lambda event: bool(event["data"]["object"]["id"] == refund_id)


async def test_a_refund_reports_the_charges_running_total(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    payment = await paid(client, stripe_sandbox)

    part = await client.v1.refunds.create_async(
        params={
            "payment_intent": payment.payment_intent,
            "amount": 1000,
            "reason": "requested_by_customer",
            "metadata": {"refundId": "ours-1"},
        }
    )
    first = stripe_sandbox.wait_for_event("charge.refunded")["data"]["object"]
    rest = await client.v1.refunds.create_async(params={"charge": payment.charge})
    charge = await client.v1.charges.retrieve_async(payment.charge)
    created = stripe_sandbox.wait_for_event("refund.created", _about(part.id))
    listed = await client.v1.refunds.list_async(params={"payment_intent": payment.payment_intent})

    assert (part.status, part.amount, part.currency, part.reason) == (
        "succeeded",
        1000,
        "usd",
        "requested_by_customer",
    )
    assert (part.payment_intent, part.charge) == (payment.payment_intent, payment.charge)
    assert part.to_dict()["metadata"] == {"refundId": "ours-1"} and part.failure_reason is None
    assert created["data"]["object"]["metadata"] == {"refundId": "ours-1"}
    assert (first["id"], first["amount_refunded"], first["refunded"]) == (
        payment.charge,
        1000,
        False,
    )
    assert first["payment_intent"] == payment.payment_intent
    assert rest.amount == TOTAL - 1000
    assert (charge.amount_refunded, charge.refunded) == (TOTAL, True)
    assert [r.id for r in listed.data] == [rest.id, part.id]


async def test_a_refund_on_the_pending_card_stays_pending_until_it_is_made_to_succeed(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    payment = await paid(client, stripe_sandbox, REFUND_PENDING)

    refund = await client.v1.refunds.create_async(params={"payment_intent": payment.payment_intent})
    still = await client.v1.refunds.retrieve_async(refund.id)
    succeeded = stripe_sandbox.admin("POST", f"/_sandbox/refunds/{refund.id}/succeed")
    updated = stripe_sandbox.wait_for_event("refund.updated", _about(refund.id))
    on_charge = stripe_sandbox.wait_for_event("charge.refund.updated", _about(refund.id))
    charge = await client.v1.charges.retrieve_async(payment.charge)

    assert (refund.status, refund.pending_reason, still.status) == (
        "pending",
        "processing",
        "pending",
    )
    assert succeeded["status"] == "succeeded"
    assert updated["data"]["object"]["status"] == "succeeded"
    assert updated["data"]["previous_attributes"] == {
        "status": "pending",
        "pending_reason": "processing",
    }
    assert on_charge["data"]["object"]["object"] == "refund"
    assert (charge.amount_refunded, charge.refunded) == (TOTAL, True)


async def test_refunds_on_the_asynchronous_cards_settle_when_the_clock_passes(
    stripe_sandbox_factory: StripeSandboxFactory,
) -> None:
    sandbox = stripe_sandbox_factory(extra_args=("--refund-settle-seconds", "600"))
    client = sandbox.client()
    pending = await paid(client, sandbox, REFUND_PENDING, "order-p")
    failing = await paid(client, sandbox, REFUND_FAILS, "order-f")
    to_succeed = await client.v1.refunds.create_async(
        params={"payment_intent": pending.payment_intent, "amount": 1000}
    )
    to_fail = await client.v1.refunds.create_async(
        params={"payment_intent": failing.payment_intent, "amount": 1000}
    )

    early = sandbox.advance_clock(570)  # margins for a slow machine: timestamps are whole s
    due = sandbox.advance_clock(60)
    succeeded = await client.v1.refunds.retrieve_async(to_succeed.id)
    failed = await client.v1.refunds.retrieve_async(to_fail.id)
    failure = sandbox.wait_for_event("refund.failed")["data"]["object"]
    charge = await client.v1.charges.retrieve_async(failing.charge)
    again = await client.v1.refunds.create_async(params={"charge": failing.charge})

    assert to_fail.status == "succeeded"
    assert (early["settled_refunds"], due["settled_refunds"]) == (0, 2)
    assert succeeded.status == "succeeded"
    assert (failed.status, failed.failure_reason) == ("failed", "expired_or_canceled_card")
    assert failed.failure_balance_transaction is not None
    assert (failure["id"], failure["status"]) == (to_fail.id, "failed")
    assert (charge.amount_refunded, charge.refunded) == (0, False)
    assert again.amount == TOTAL


async def test_any_refund_can_be_failed_or_canceled_once(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    payment = await paid(client, stripe_sandbox, PLAIN)
    first = await client.v1.refunds.create_async(
        params={"payment_intent": payment.payment_intent, "amount": 1000}
    )
    second = await client.v1.refunds.create_async(
        params={"payment_intent": payment.payment_intent, "amount": 2000}
    )

    failed = stripe_sandbox.admin(
        "POST", f"/_sandbox/refunds/{first.id}/fail", {"failure_reason": "lost_or_stolen_card"}
    )
    canceled = stripe_sandbox.admin("POST", f"/_sandbox/refunds/{second.id}/cancel")
    refused = [
        stripe_sandbox.http.post(f"/_sandbox/refunds/{first.id}/{verb}")
        for verb in ("fail", "succeed", "cancel")
    ]
    unknown = stripe_sandbox.http.post("/_sandbox/refunds/re_missing/fail")
    charge = await client.v1.charges.retrieve_async(payment.charge)
    updated = stripe_sandbox.wait_for_event("refund.updated", _about(second.id))

    assert (failed["status"], failed["failure_reason"]) == ("failed", "lost_or_stolen_card")
    assert (canceled["status"], canceled["failure_reason"]) == ("canceled", None)
    assert [r.status_code for r in refused] == [400, 400, 400]
    assert unknown.status_code == 404
    assert charge.amount_refunded == 0
    assert updated["data"]["previous_attributes"] == {"status": "succeeded"}
    stripe_sandbox.wait_for_event("refund.failed", _about(first.id))


async def test_a_dashboard_refund_carries_no_metadata_and_sends_the_same_events(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    payment = await paid(client, stripe_sandbox)

    refund = stripe_sandbox.admin(
        "POST",
        "/_sandbox/refunds",
        {"checkout_session": payment.session, "amount": 500, "reason": "duplicate"},
    )
    created = stripe_sandbox.wait_for_event("refund.created")
    charge = stripe_sandbox.wait_for_event("charge.refunded")["data"]["object"]
    too_much = stripe_sandbox.http.post(
        "/_sandbox/refunds", json={"payment_intent": payment.payment_intent, "amount": TOTAL}
    )
    rest = stripe_sandbox.admin("POST", "/_sandbox/refunds", {"charge": payment.charge})

    assert (refund["amount"], refund["metadata"], refund["reason"]) == (500, {}, "duplicate")
    assert refund["payment_intent"] == payment.payment_intent
    assert created["data"]["object"]["id"] == refund["id"]
    assert created["request"]["idempotency_key"] is None
    assert charge["amount_refunded"] == 500
    assert too_much.status_code == 400
    assert too_much.json()["error"]["code"] == "amount_too_large"
    assert rest["amount"] == TOTAL - 500


async def test_an_unpaid_session_cannot_be_refunded_from_the_dashboard(
    client: stripe.StripeClient,
    stripe_sandbox: RunningStripeSandbox,
) -> None:
    session = await client.v1.checkout.sessions.create_async(params=session_params())

    refused = stripe_sandbox.http.post("/_sandbox/refunds", json={"checkout_session": session.id})
    nothing = stripe_sandbox.http.post("/_sandbox/refunds", json={})

    assert refused.status_code == 400 and nothing.status_code == 400
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.refunds.create_async(params={"charge": "ch_missing"})


def test_a_payment_kept_from_before_charges_were_objects_is_refunded_from_its_remainder(
    tmp_path: Path,
) -> None:
    """A `--data-dir` written by an older sandbox kept the refunded total on the intent."""
    sandbox = build_sandbox(SandboxConfig(data_dir=tmp_path))
    sandbox.store.put_object(
        "payment_intent",
        {
            "id": "pi_old",
            "object": "payment_intent",
            "amount": TOTAL,
            "amount_received": TOTAL,
            "currency": "usd",
            "created": 1,
            "metadata": {"orderId": "order-old"},
            "payment_method": None,
            "status": "succeeded",
            "latest_charge": "ch_old",
            "_amount_refunded": 1000,
        },
    )

    refund = create_refund(sandbox, {"payment_intent": "pi_old"}, RequestOrigin())

    assert (refund["charge"], refund["amount"]) == ("ch_old", TOTAL - 1000)
    charge = sandbox.store.get_object("charge", "ch_old")
    assert charge is not None and (charge["amount_refunded"], charge["refunded"]) == (TOTAL, True)
    sandbox.store.close()
