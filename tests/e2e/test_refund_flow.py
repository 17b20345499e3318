"""An admin of the reference shop refunds half of a paid order (issue 12), through
`payments dev` as a shop's back office would: over the gateway, as the shop's admin.

The customer pays on the hosted page; the admin logs in to the shop and POSTs a partial
refund with an Idempotency-Key; the customer then sees PARTIALLY_REFUNDED with the half
refunded, the history shows the refund as Stripe made it, and the same request again
answers the same 202 and refunds nothing more. The order stays CONFIRMED and its stock
sold: a refund is money, not a return.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.running_dev import RunningDev, eventually

pytestmark = pytest.mark.e2e

HEADPHONES = "64a000000000000000000001"  # two at 99.99
ADMIN = "admin@example.com"


def paid_order(dev: RunningDev, customer: dict[str, str]) -> str:
    order = dev.place_order(customer, HEADPHONES, 2)
    session = dev.create_session(customer, order["_id"])
    page = httpx.post(session["checkoutUrl"], data={"card_number": "4242424242424242"})
    assert page.status_code == 303
    eventually(lambda: dev.payment(customer, order["_id"])["status"], lambda s: s == "SUCCESS")
    order_id: str = order["_id"]
    return order_id


def of_type(entries: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [entry["data"] for entry in entries if entry["type"] == event_type]


def refund_succeeded(entries: list[dict[str, Any]]) -> bool:
    reports = of_type(entries, "RefundReported")
    return any(report["refund_status"] == "succeeded" for report in reports)


def test_an_admin_refunds_half_of_a_paid_order_once(dev: RunningDev) -> None:
    customer = dev.login()
    order_id = paid_order(dev, customer)
    admin = dev.login(ADMIN)
    key = f"refund-{uuid.uuid4()}"
    asked = {"orderId": order_id, "amount": 99.99, "reason": "requested_by_customer"}

    first = dev.refund(admin, key, asked)

    assert first.status_code == 202, first.text
    accepted = first.json()
    assert accepted == {"refundId": accepted["refundId"], "orderId": order_id,
                        "amount": 99.99, "currency": "usd", "status": "pending"}  # fmt: skip
    shown = eventually(
        lambda: dev.payment(customer, order_id), lambda p: p["status"] == "PARTIALLY_REFUNDED"
    )
    assert (shown["amount"], shown["refundedAmount"], shown["dispute"]) == (199.98, 99.99, None)
    history = eventually(lambda: dev.history(customer, order_id), refund_succeeded)
    ordered = of_type(history, "RefundOrdered")
    assert [(o["refund_id"], o["reason"]) for o in ordered] == [
        (accepted["refundId"], "requested_by_customer")
    ]
    made = dev.stripe_refunds(of_type(history, "Succeeded")[0]["payment_intent"])
    assert [(r["amount"], r["status"], r["metadata"]["refundId"]) for r in made] == [
        (9999, "succeeded", accepted["refundId"])
    ]

    again = dev.refund(admin, key, asked)

    assert (again.status_code, again.json()) == (202, accepted)
    assert len(of_type(dev.history(customer, order_id), "RefundOrdered")) == 1
    shown = dev.payment(customer, order_id)
    assert (shown["status"], shown["refundedAmount"]) == ("PARTIALLY_REFUNDED", 99.99)
    assert len(dev.stripe_refunds(made[0]["payment_intent"])) == 1
    assert dev.order_status(customer, order_id) == "CONFIRMED"
    assert dev.effects(order_id)["released"] == {}  # the stock stays sold
