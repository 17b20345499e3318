"""Refund and dispute news reaching the real app as Stripe signs it, and what the status
then shows (issue 12): a refund failing at Stripe, a refund made in the dashboard, a
dispute opened then won, another lost."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import pytest

from application.fulfilment import EffectsFailed
from application.ports import PaymentIntentState
from domain.payment import payment_id_for
from tests.interfaces.conftest import Api, as_user
from tests.stripe_payloads import (
    charge_refunded_event,
    checkout_event,
    dispute_event,
    refund_event,
)

ORDER = "ord_1"
RECEIVED = {"received": True}


async def paid(api: Api) -> None:
    session_id = await api.open_checkout(ORDER)
    response = await api.webhook(checkout_event("checkout.session.completed", ORDER, session_id))
    assert response.status_code == 200
    api.checkout.payment_intents["pi_test_1"] = PaymentIntentState("pi_test_1", "succeeded", ORDER)
    await api.graph.settle_payment(payment_id_for(ORDER))


async def status(api: Api) -> dict[str, Any]:
    response = await api.client.get(f"/payments/status/{ORDER}", headers=as_user("user_1"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def stripe_says(api: Api, payload: dict[str, Any]) -> None:
    response = await api.webhook(payload)
    assert (response.status_code, response.json()) == (200, RECEIVED)


def alerts(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if getattr(r, "alert", False)]


async def test_a_refund_failing_at_stripe_alerts_and_the_status_goes_back(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    await paid(api)
    api.checkout.refund_status = "pending"
    response = await api.client.post(
        "/payments/refunds",
        json={"orderId": ORDER, "amount": 50.00, "reason": "requested_by_customer"},
        headers={**as_user("admin_1", role="admin"), "Idempotency-Key": "refund-ord_1-1"},
    )
    assert response.status_code == 202, response.text
    refund_id = response.json()["refundId"]
    await api.graph.settle_payment(payment_id_for(ORDER))
    shown = await status(api)
    assert (shown["status"], shown["refundedAmount"]) == ("PARTIALLY_REFUNDED", 50)

    ours = {"orderId": ORDER, "refundId": refund_id}
    with caplog.at_level(logging.INFO):
        await stripe_says(api, refund_event("refund.failed", "re_1", 5000, "failed", metadata=ours))

    assert alerts(caplog) == ["refund failed at stripe; its amount is refundable again"]
    shown = await status(api)
    assert (shown["status"], shown["refundedAmount"], shown["dispute"]) == ("SUCCESS", 0, None)
    history = await api.client.get(f"/payments/history/{ORDER}", headers=as_user("user_1"))
    entries = history.json()["entries"]
    assert [entry["type"] for entry in entries][-3:] == [
        "RefundOrdered",
        "RefundReported",
        "RefundReported",
    ]
    assert entries[-3]["data"]["ordered_by"] == "admin_1"  # the admin's id from the JWT


async def test_a_dashboard_refund_moves_the_status(api: Api) -> None:
    await paid(api)

    await stripe_says(api, charge_refunded_event(4498))

    shown = await status(api)
    assert (shown["status"], shown["refundedAmount"]) == ("PARTIALLY_REFUNDED", 44.98)


async def test_a_dispute_opened_then_won(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    await paid(api)

    with caplog.at_level(logging.INFO):
        await stripe_says(api, dispute_event("charge.dispute.created", "dp_1", "needs_response"))
    assert alerts(caplog) == ["stripe opened a dispute on the payment"]
    shown = await status(api)
    assert shown["dispute"] == {
        "status": "needs_response",
        "amount": 204.98,
        "reason": "fraudulent",
    }
    assert shown["status"] == "SUCCESS"

    await stripe_says(api, dispute_event("charge.dispute.closed", "dp_1", "won"))

    shown = await status(api)
    assert (shown["status"], shown["refundedAmount"]) == ("SUCCESS", 0)
    assert shown["dispute"]["status"] == "won"


async def test_a_dispute_lost(api: Api) -> None:
    await paid(api)
    await stripe_says(api, dispute_event("charge.dispute.created", "dp_2", "needs_response"))

    await stripe_says(api, dispute_event("charge.dispute.closed", "dp_2", "lost"))

    shown = await status(api)
    assert (shown["status"], shown["refundedAmount"]) == ("REFUNDED", 204.98)
    assert shown["dispute"] == {"status": "lost", "amount": 204.98, "reason": "fraudulent"}


async def test_late_money_whose_refund_fails_shows_as_owed_until_refunded_by_hand(
    api: Api,
) -> None:
    session_id = await api.open_checkout(ORDER)
    await stripe_says(api, checkout_event("checkout.session.expired", ORDER, session_id))
    await stripe_says(api, checkout_event("checkout.session.completed", ORDER, session_id))
    api.checkout.payment_intents["pi_test_1"] = PaymentIntentState("pi_test_1", "succeeded", ORDER)
    api.checkout.refund_status = "pending"
    with contextlib.suppress(EffectsFailed):  # no inventory behind this app; refunds go anyway
        await api.graph.settle_payment(payment_id_for(ORDER))
    shown = await status(api)
    assert (shown["status"], shown["refundedAmount"], shown["refundOwed"]) == ("FAILED", 204.98, 0)

    owed = {"orderId": ORDER, "refundId": "owed"}
    await stripe_says(api, refund_event("refund.failed", "re_1", 20498, "failed", metadata=owed))

    shown = await status(api)
    assert (shown["status"], shown["refundedAmount"], shown["refundOwed"]) == ("FAILED", 0, 204.98)

    await stripe_says(api, refund_event("refund.created", "re_hand", 20498, "succeeded"))

    shown = await status(api)
    assert (shown["status"], shown["refundedAmount"], shown["refundOwed"]) == (
        "REFUNDED",
        204.98,
        0,
    )


async def test_a_dispute_lost_before_its_creation_arrives_alerts_as_lost(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    await paid(api)

    with caplog.at_level(logging.INFO):
        await stripe_says(api, dispute_event("charge.dispute.closed", "dp_3", "lost"))
        await stripe_says(api, dispute_event("charge.dispute.created", "dp_3", "needs_response"))

    assert alerts(caplog) == [
        "stripe opened a dispute on the payment",
        "dispute lost: the money went back to the cardholder",
    ]
    shown = await status(api)
    assert (shown["status"], shown["refundedAmount"]) == ("REFUNDED", 204.98)
    assert shown["dispute"]["status"] == "lost"
