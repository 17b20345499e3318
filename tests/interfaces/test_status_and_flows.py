"""`GET /status/{orderId}` and the whole success and expiry flows over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from application.ports import PaymentStatusReport
from domain.money import Money
from domain.order import OrderLine
from tests.fakes import an_order
from tests.interfaces.conftest import Api, as_user
from tests.stripe_payloads import checkout_event


async def status_of(
    api: Api, order_id: str = "ord_1", path: str = "/payments/status"
) -> tuple[int, Any]:
    response = await api.client.get(f"{path}/{order_id}", headers=as_user())
    return response.status_code, response.json()


async def test_status_right_after_create_is_initiated_not_404(api: Api) -> None:
    session_id = await api.open_checkout()
    status, body = await status_of(api)
    assert status == 200
    assert body["orderId"] == "ord_1"
    assert body["status"] == "INITIATED"
    assert body["sessionId"] == session_id
    assert body["amount"] == 204.98
    assert body["currency"] == "usd"
    assert datetime.fromisoformat(body["createdAt"]).tzinfo is not None
    assert datetime.fromisoformat(body["updatedAt"]) >= datetime.fromisoformat(body["createdAt"])
    assert set(body) == {
        "orderId",
        "status",
        "amount",
        "currency",
        "createdAt",
        "updatedAt",
        "sessionId",
        "refundedAmount",
        "dispute",
        "refundOwed",
        "refundCurrency",
    }
    assert (body["refundedAmount"], body["dispute"], body["refundOwed"]) == (0, None, 0)
    assert body["refundCurrency"] == "usd"


@pytest.mark.parametrize("path", ["/payments/status", "/status"])
async def test_unknown_order_status_is_404(api: Api, path: str) -> None:
    assert await status_of(api, "ord_nothing", path) == (404, {"error": "Order not found"})


async def test_jpy_amount_has_no_decimals(api: Api) -> None:
    lines = (OrderLine("prod_a", "Tea", 3, Money(500, "jpy")),)
    api.orders.add(an_order("ord_jp", "user_1", lines=lines, currency="jpy"))
    await api.client.post("/create-session", json={"orderId": "ord_jp"}, headers=as_user())
    response = await api.client.get("/status/ord_jp", headers=as_user())
    assert response.json()["amount"] == 1500
    assert b'"amount":1500,' in response.content


async def test_status_comes_from_the_read_model_when_it_has_the_payment(api: Api) -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    api.view.reports["ord_9"] = PaymentStatusReport(
        order_id="ord_9",
        user_id="user_1",
        status="SUCCESS",
        amount=Money(19998, "usd"),
        session_id="cs_9",
        created_at=at,
        updated_at=at,
        version=3,
    )
    status, body = await status_of(api, "ord_9")
    assert status == 200
    assert body["amount"] == 199.98
    assert body["status"] == "SUCCESS"
    assert body["refundCurrency"] == "usd"  # a report that names none: the order's
    assert body["createdAt"].startswith("2026-01-02T03:04:05")


async def test_success_flow(api: Api) -> None:
    session_id = await api.open_checkout()
    delivered = await api.webhook(checkout_event("checkout.session.completed", "ord_1", session_id))
    assert delivered.json() == {"received": True}
    status, body = await status_of(api)
    assert (status, body["status"]) == (200, "SUCCESS")


async def test_expiry_flow(api: Api) -> None:
    session_id = await api.open_checkout()
    delivered = await api.webhook(checkout_event("checkout.session.expired", "ord_1", session_id))
    assert delivered.json() == {"received": True}
    status, body = await status_of(api)
    assert (status, body["status"]) == (200, "FAILED")
    again = await api.client.post("/create-session", json={"orderId": "ord_1"}, headers=as_user())
    assert again.status_code == 400
    assert api.checkout.calls == 1


async def test_money_in_another_currency_is_shown_in_the_currency_it_came_in(api: Api) -> None:
    """An order in USD paid in JPY: FAILED, and the yen are owed back, then refunded, as
    yen (`refundCurrency`); `amount` and `currency` stay the order's. Answered from the
    event store (the read model has not seen the payment)."""
    session_id = await api.open_checkout()
    paid = checkout_event(
        "checkout.session.completed", "ord_1", session_id, amount_total=3000, currency="jpy"
    )
    await api.webhook(paid)

    status, body = await status_of(api)
    assert (status, body["status"], body["amount"], body["currency"]) == (
        200,
        "FAILED",
        204.98,
        "usd",
    )
    assert (body["refundOwed"], body["refundedAmount"], body["refundCurrency"]) == (3000, 0, "jpy")

    payment = api.ledger.find("ord_1")  # the effects queue's refund, as it records it
    assert payment is not None
    payment.record_refunded("re_1")
    api.ledger.record(payment)
    status, body = await status_of(api)
    assert (body["status"], body["refundedAmount"], body["refundOwed"]) == ("REFUNDED", 3000, 0)
    assert (body["currency"], body["refundCurrency"]) == ("usd", "jpy")
