"""Refunds and disputes over real HTTP (issue 12): the service on a port with its effects
queue, the Stripe sandbox deciding each refund's and dispute's fate and sending the
events as Stripe does, the reference shop as order service.

An admin refunds part of a paid order and the sandbox fails the refund later, as a bank
does; another payment is disputed, and the dispute is lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt

from tests.fixtures.shop import CABLE
from tests.fixtures.stripe_sandbox import RunningStripeSandbox
from tests.infrastructure.test_sandbox_webhook_reaches_service import (
    WAIT_SECONDS,
    Stack,
    service_port,
    stack,
)

__all__ = ["service_port", "stack"]  # the fixtures, used by name


def paid_order(stack: Stack, card: str) -> tuple[httpx.Client, str, str]:
    """An order paid with `card`; the buyer's client, the order id, its PaymentIntent."""
    running, shop, sandbox = stack
    token = shop.login()
    order = shop.create_order(token, [(CABLE, 2)])
    api = httpx.Client(base_url=running.url, headers={"Authorization": f"Bearer {token}"})
    created = api.post("/payments/create-session", json={"orderId": order["_id"]})
    assert created.status_code == 200, created.text
    sandbox.pay(created.json()["sessionId"], card)
    completed = sandbox.wait_for_event(
        "checkout.session.completed",
        lambda e: e["data"]["object"]["id"] == created.json()["sessionId"],
    )
    shown = wait_for(api, order["_id"], lambda body: body.get("status") == "SUCCESS")
    assert shown["status"] == "SUCCESS"
    return api, order["_id"], completed["data"]["object"]["payment_intent"]


def admin_headers(stack: Stack, key: str) -> dict[str, str]:
    _, shop, _ = stack
    claims = {"userId": "admin_1", "role": "admin", "exp": int(time.time()) + 600}
    token = jwt.encode(claims, shop.jwt_secret, algorithm="HS256")
    return {"Authorization": f"Bearer {token}", "Idempotency-Key": key}


def wait_for(
    api: httpx.Client, order_id: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        body: dict[str, Any] = api.get(f"/payments/status/{order_id}").json()
        if done(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_a_refund_the_bank_returns_gives_the_payment_back_its_money(stack: Stack) -> None:
    running, _, sandbox = stack
    # This card's refunds succeed, then fail later (the bank sends them back).
    api, order_id, _ = paid_order(stack, "4000000000005126")

    ordered = httpx.post(
        f"{running.url}/payments/refunds",
        json={"orderId": order_id, "amount": 5, "reason": "requested_by_customer"},
        headers=admin_headers(stack, f"return-{order_id}"),
    )
    assert ordered.status_code == 202, ordered.text
    shown = wait_for(api, order_id, lambda body: body.get("refundedAmount") == 5)
    assert (shown["status"], shown["refundedAmount"]) == ("PARTIALLY_REFUNDED", 5)

    created = sandbox.wait_for_event("refund.created")
    assert created["data"]["object"]["metadata"] == {
        "orderId": order_id,
        "refundId": ordered.json()["refundId"],
    }
    sandbox.admin("POST", f"/_sandbox/refunds/{created['data']['object']['id']}/fail")

    shown = wait_for(api, order_id, lambda body: body.get("refundedAmount") == 0)
    assert (shown["status"], shown["refundedAmount"]) == ("SUCCESS", 0)
    assert_every_delivery_accepted(sandbox)
    api.close()


def test_a_dispute_opened_then_lost(stack: Stack) -> None:
    _, _, sandbox = stack
    api, order_id, intent = paid_order(stack, "4242424242424242")

    dispute = sandbox.admin("POST", "/_sandbox/disputes", {"payment_intent": intent})
    shown = wait_for(api, order_id, lambda body: body.get("dispute") is not None)
    assert shown["dispute"] == {"status": "needs_response", "amount": 19.98, "reason": "fraudulent"}
    assert shown["status"] == "SUCCESS"

    sandbox.admin("POST", f"/_sandbox/disputes/{dispute['id']}/lose")

    shown = wait_for(api, order_id, lambda body: body.get("status") == "REFUNDED")
    assert (shown["status"], shown["refundedAmount"]) == ("REFUNDED", 19.98)
    assert shown["dispute"]["status"] == "lost"
    assert_every_delivery_accepted(sandbox)
    api.close()


def assert_every_delivery_accepted(sandbox: RunningStripeSandbox) -> None:
    """Each event the sandbox sent (refund.*, charge.*, charge.dispute.*…) was read: a 400
    would have Stripe sending it again for days."""
    attempts = sandbox.deliveries()["attempts"]
    refused = [a for a in attempts if a["status"] != 200]
    assert attempts and not refused, refused
