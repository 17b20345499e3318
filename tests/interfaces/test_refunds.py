"""`POST /payments/refunds` (and `/refunds`) through the real app: the contract of issue 12."""

from __future__ import annotations

from typing import Any

import pytest

from application.refund_keys import refund_id_for
from domain.money import Money
from domain.order import OrderLine
from tests.fakes import an_order
from tests.interfaces.conftest import Api, as_user, bearer, token_for
from tests.stripe_payloads import checkout_event

ADMIN = as_user("admin_1", role="admin")
REFUNDS = "/payments/refunds"


async def paid(
    api: Api, order_id: str = "ord_1", currency: str = "usd", minor: int = 20498
) -> None:
    lines = (OrderLine("prod_a", "Keyboard", 1, Money(minor, currency)),)
    api.orders.add(an_order(order_id, "user_1", lines=lines, currency=currency))
    opened = await api.client.post(
        "/payments/create-session", json={"orderId": order_id}, headers=as_user()
    )
    assert opened.status_code == 200, opened.text
    event = checkout_event(
        "checkout.session.completed",
        order_id,
        opened.json()["sessionId"],
        amount_total=minor,
        currency=currency,
        payment_intent=f"pi_{order_id}",
    )
    assert (await api.webhook(event)).status_code == 200


async def refund(
    api: Api,
    body: Any,
    key: str | None = "key-1",
    headers: dict[str, str] | None = None,
    path: str = REFUNDS,
) -> tuple[int, Any]:
    sent = {**(ADMIN if headers is None else headers)}
    if key is not None:
        sent["Idempotency-Key"] = key
    response = await api.client.post(path, json=body, headers=sent)
    return response.status_code, response.json()


def refundable(api: Api, order_id: str = "ord_1") -> Money:
    payment = api.ledger.find(order_id)
    assert payment is not None
    return payment.refundable


async def test_an_admin_refunds_part_then_the_rest(api: Api) -> None:
    await paid(api)
    status, body = await refund(api, {"orderId": "ord_1", "amount": 50.10, "reason": "duplicate"})
    assert (status, body) == (
        202,
        {
            "refundId": refund_id_for("key-1"),
            "orderId": "ord_1",
            "amount": 50.1,
            "currency": "usd",
            "status": "pending",
        },
    )
    status, body = await refund(api, {"orderId": "ord_1"}, key="key-2", path="/refunds")
    assert (status, body["amount"]) == (202, 154.88)
    assert refundable(api) == Money(0, "usd")


async def test_only_an_admin_may_refund(api: Api) -> None:
    await paid(api)
    body = {"orderId": "ord_1"}
    for caller in (as_user("user_1"), as_user("auditor_1", role="auditor")):
        assert await refund(api, body, headers=caller) == (403, {"error": "Admin role required"})
    # A non-admin is refused before the key or the body are looked at.
    assert await refund(api, "nonsense", key=None, headers=as_user()) == (
        403,
        {"error": "Admin role required"},
    )
    forged = bearer(token_for("admin_1", role="admin", secret="x" * 64))
    for headers in ({}, forged):
        assert await refund(api, body, headers=headers) == (
            401,
            {"error": "User not authenticated"},
        )
    assert refundable(api) == Money(20498, "usd")


@pytest.mark.parametrize("key", [None, "", "   ", "k" * 256, "tab\there"])
async def test_an_idempotency_key_is_required(api: Api, key: str | None) -> None:
    await paid(api)
    status, body = await refund(api, {"orderId": "ord_1"}, key=key)
    assert status == 400
    assert body["error"].startswith("Idempotency-Key")
    if key is None:
        assert body == {"error": "Idempotency-Key header is required"}
    assert refundable(api) == Money(20498, "usd")


async def test_the_same_key_and_body_answer_the_same_202_and_refund_once(api: Api) -> None:
    await paid(api)
    first = await refund(api, {"orderId": "ord_1", "amount": 20})
    again = await refund(api, {"orderId": "ord_1", "amount": 20.00}, path="/refunds")
    assert first == again
    assert first[0] == 202
    assert refundable(api) == Money(18498, "usd")
    payment = api.ledger.find("ord_1")
    assert payment is not None
    assert len(payment.refunds) == 1


async def test_the_same_key_with_another_body_is_a_409(api: Api) -> None:
    await paid(api)
    await paid(api, "ord_2")
    assert (await refund(api, {"orderId": "ord_1", "amount": 20}))[0] == 202
    reused = {"error": "Idempotency-Key reused with a different request"}
    for other in (
        {"orderId": "ord_1", "amount": 21},
        {"orderId": "ord_1"},
        {"orderId": "ord_1", "amount": 20, "reason": "fraudulent"},
        {"orderId": "ord_2", "amount": 20},
    ):
        assert await refund(api, other) == (409, reused)
    assert refundable(api) == Money(18498, "usd")
    assert refundable(api, "ord_2") == Money(20498, "usd")


async def test_refusals_of_the_contract(api: Api) -> None:
    await paid(api)
    api.orders.add(an_order("ord_open", "user_1"))
    await api.open_checkout("ord_open")
    expired = await api.open_checkout("ord_expired")
    await api.webhook(checkout_event("checkout.session.expired", "ord_expired", expired))
    assert await refund(api, {"orderId": "ord_1", "amount": 204.99}) == (
        400,
        {"error": "Refund exceeds the refundable amount"},
    )
    not_refundable = (400, {"error": "Payment is not refundable"})
    assert await refund(api, {"orderId": "ord_open"}, key="key-2") == not_refundable
    assert await refund(api, {"orderId": "ord_expired"}, key="key-3") == not_refundable
    assert await refund(api, {"orderId": "ord_missing"}, key="key-4") == (
        404,
        {"error": "Order not found"},
    )
    assert refundable(api) == Money(20498, "usd")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"orderId": "ord_1", "amount": 0}, "amount must be greater than 0"),
        ({"orderId": "ord_1", "amount": -5}, "amount must be greater than 0"),
        ({"orderId": "ord_1", "amount": "50"}, "amount must be a number"),
        ({"orderId": "ord_1", "amount": True}, "amount must be a number"),
        ({"orderId": "ord_1", "amount": None}, "amount must be a number"),
        ({"orderId": "ord_1", "amount": 10.001}, "amount has more decimals than USD allows"),
        ({"orderId": "ord_1", "ammount": 5}, "Unknown field: ammount"),
        ({"orderId": "ord_1", "reason": "changed_mind"}, "reason must be one of"),
        ({"amount": 5}, "orderId is required"),
        ({"orderId": 7}, "orderId must be a string"),
        ([{"orderId": "ord_1"}], "Request body must be a JSON object"),
    ],
)
async def test_a_malformed_request_is_a_400_that_changes_nothing(
    api: Api, body: Any, error: str
) -> None:
    await paid(api)
    status, answer = await refund(api, body)
    assert status == 400
    assert answer["error"].startswith(error)
    assert refundable(api) == Money(20498, "usd")


@pytest.mark.parametrize(
    ("content", "status", "error"),
    [
        (b'{"orderId": "ord_1", "amount": 0.10000000000000001}', 400, "amount has more decimals"),
        (b'{"orderId": "ord_1", "amount": 1e300}', 400, "amount is too large"),
        (b'{"orderId": "ord_1", "amount": 1e999999999}', 400, "Number out of range"),
        (b'{"orderId": "ord_1", "amount": NaN}', 400, "Malformed JSON body"),
        (b'{"orderId": "ord_1",', 400, "Malformed JSON body"),
        (b"", 400, "Request body must be a JSON object"),
        (b'{"orderId": "' + b"x" * 20_000 + b'"}', 413, "Payload too large"),
    ],
)
async def test_a_body_is_read_exactly_and_within_bounds(
    api: Api, content: bytes, status: int, error: str
) -> None:
    await paid(api)
    headers = {**ADMIN, "Idempotency-Key": "key-1", "Content-Type": "application/json"}
    response = await api.client.post(REFUNDS, content=content, headers=headers)
    assert response.status_code == status
    assert response.json()["error"].startswith(error)
    assert refundable(api) == Money(20498, "usd")


async def test_a_zero_decimal_currency_speaks_whole_units(api: Api) -> None:
    await paid(api, "ord_jpy", "jpy", 1500)
    status, body = await refund(api, {"orderId": "ord_jpy", "amount": 500})
    assert (status, body["amount"], body["currency"]) == (202, 500, "jpy")
    assert (await refund(api, {"orderId": "ord_jpy", "amount": 1.5}, key="key-2"))[0] == 400
    assert refundable(api, "ord_jpy") == Money(1000, "jpy")


async def test_a_key_outside_printable_ascii_is_refused(api: Api) -> None:
    await paid(api)
    headers = [(name.encode(), value.encode()) for name, value in ADMIN.items()]
    headers.append((b"Idempotency-Key", "clé".encode("latin-1")))
    response = await api.client.post(REFUNDS, json={"orderId": "ord_1"}, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"].startswith("Idempotency-Key must be")
