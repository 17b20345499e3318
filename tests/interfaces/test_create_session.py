"""`POST /create-session`: the seed's answers for every way it can go."""

from __future__ import annotations

import pytest

from application.errors import ServiceRejected
from domain.money import Money
from domain.order import OrderSnapshot
from tests.fakes import an_order
from tests.interfaces.conftest import Api, as_user
from tests.stripe_payloads import checkout_event

PATHS = ["/payments/create-session", "/create-session"]


@pytest.mark.parametrize("path", PATHS)
async def test_opens_a_checkout_page_under_both_paths(api: Api, path: str) -> None:
    api.orders.add(an_order("ord_1", "user_1"))
    response = await api.client.post(path, json={"orderId": "ord_1"}, headers=as_user())
    assert response.status_code == 200
    assert response.json() == {
        "checkoutUrl": "https://checkout.example/cs_test_1",
        "sessionId": "cs_test_1",
    }


async def test_second_call_returns_the_same_session_without_calling_stripe(api: Api) -> None:
    first = await api.open_checkout()
    response = await api.client.post(
        "/create-session", json={"orderId": "ord_1"}, headers=as_user()
    )
    assert response.json()["sessionId"] == first
    assert api.checkout.calls == 1


@pytest.mark.parametrize(
    "body",
    [{}, {"orderId": None}, {"orderId": ""}, {"orderId": "   "}, {"order": "x"}],
)
async def test_missing_or_blank_order_id_is_400(api: Api, body: object) -> None:
    response = await api.client.post("/create-session", json=body, headers=as_user())
    assert (response.status_code, response.json()) == (400, {"error": "orderId is required"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "Malformed JSON body"),
        (b'{"orderId": "ord_1"', "Malformed JSON body"),
        (b"", "Request body must be a JSON object"),
        (b"[1, 2]", "Request body must be a JSON object"),
        (b'"ord_1"', "Request body must be a JSON object"),
    ],
)
async def test_malformed_json_is_400_with_a_clear_message(
    api: Api, body: bytes, message: str
) -> None:
    headers = {**as_user(), "Content-Type": "application/json"}
    response = await api.client.post("/create-session", content=body, headers=headers)
    assert (response.status_code, response.json()) == (400, {"error": message})


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_wrong_content_type_is_400_even_with_a_json_body(
    api: Api, content_type: str | None
) -> None:
    api.orders.add(an_order("ord_1", "user_1"))
    headers = as_user() | ({"Content-Type": content_type} if content_type else {})
    response = await api.client.post(
        "/create-session", content=b'{"orderId": "ord_1"}', headers=headers
    )
    assert response.status_code == 400
    assert response.json() == {"error": "Content-Type must be application/json"}
    assert api.checkout.calls == 0


async def test_json_with_a_charset_is_accepted(api: Api) -> None:
    api.orders.add(an_order("ord_1", "user_1"))
    headers = as_user() | {"Content-Type": "application/json; charset=utf-8"}
    response = await api.client.post(
        "/create-session", content=b'{"orderId": "ord_1"}', headers=headers
    )
    assert response.status_code == 200


async def test_unknown_order_is_404(api: Api) -> None:
    response = await api.client.post(
        "/create-session", json={"orderId": "ord_missing"}, headers=as_user()
    )
    assert (response.status_code, response.json()) == (404, {"error": "Order not found"})


@pytest.mark.parametrize("status", ["CONFIRMED", "CANCELLED", "SHIPPED"])
async def test_order_that_is_not_pending_is_400(api: Api, status: str) -> None:
    api.orders.add(an_order("ord_1", "user_1", status=status))
    response = await api.client.post(
        "/create-session", json={"orderId": "ord_1"}, headers=as_user()
    )
    assert response.status_code == 400
    assert response.json() == {"error": f"Cannot create payment for order with status: {status}"}


async def test_paid_order_is_400_payment_already_completed(api: Api) -> None:
    session_id = await api.open_checkout()
    await api.webhook(checkout_event("checkout.session.completed", "ord_1", session_id))
    response = await api.client.post(
        "/create-session", json={"orderId": "ord_1"}, headers=as_user()
    )
    assert (response.status_code, response.json()) == (400, {"error": "Payment already completed"})


async def test_stripe_failure_is_500_without_details(api: Api) -> None:
    api.orders.add(an_order("ord_1", "user_1"))
    api.checkout.down = True
    response = await api.client.post(
        "/create-session", json={"orderId": "ord_1"}, headers=as_user()
    )
    assert response.status_code == 500
    assert response.json() == {"error": "Failed to create payment session"}


async def test_order_that_cannot_be_charged_is_500_failed_to_create(api: Api) -> None:
    api.orders.add(OrderSnapshot("ord_1", "user_1", "PENDING", (), Money(100, "usd")))
    response = await api.client.post(
        "/create-session", json={"orderId": "ord_1"}, headers=as_user()
    )
    assert (response.status_code, response.json()) == (
        500,
        {"error": "Failed to create payment session"},
    )


async def test_order_service_down_is_503(api: Api) -> None:
    api.orders.down = True
    response = await api.client.post(
        "/create-session", json={"orderId": "ord_1"}, headers=as_user()
    )
    assert (response.status_code, response.json()) == (503, {"error": "Order service unavailable"})


async def test_order_service_refusing_us_is_503(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(order_id: str) -> None:
        raise ServiceRejected("401 from order service")

    monkeypatch.setattr(api.orders, "get", refuse)
    response = await api.client.post(
        "/create-session", json={"orderId": "ord_1"}, headers=as_user()
    )
    assert response.status_code == 503


async def test_unexpected_error_is_500_without_a_stack_trace(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def explode(order_id: str) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(api.orders, "get", explode)
    response = await api.client.post(
        "/create-session", json={"orderId": "ord_1"}, headers=as_user()
    )
    assert (response.status_code, response.json()) == (500, {"error": "Internal server error"})
    assert "secret internal detail" not in response.text
