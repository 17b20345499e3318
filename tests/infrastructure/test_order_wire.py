"""Order-service answers a careful client refuses, beyond what the shop's faults can produce."""

from __future__ import annotations

import json
from typing import Any

import pytest

from domain.money import Money
from infrastructure.neighbours.order_wire import GarbledReply, check_release_reply, order_snapshot


def body(**changes: Any) -> bytes:
    order: dict[str, Any] = {
        "_id": "ord_1",
        "userId": "user_1",
        "status": "PENDING",
        "items": [{"productId": "p1", "name": "Lamp", "quantity": 2, "price": "12.50"}],
        "totalAmount": 25,
        **changes,
    }
    return json.dumps({"order": {k: v for k, v in order.items() if v is not None}}).encode()


def test_currency_defaults_to_usd_and_string_prices_are_exact() -> None:
    order = order_snapshot(body(), "ord_1")

    assert order.lines[0].unit_price == Money(1250, "usd")
    assert order.total == Money(2500, "usd")


def test_an_explicit_null_currency_is_missing_so_usd() -> None:
    reply = json.loads(body())
    reply["order"]["currency"] = None

    assert order_snapshot(json.dumps(reply).encode(), "ord_1").total == Money(2500, "usd")


@pytest.mark.parametrize(
    "changes",
    [
        {"totalAmount": "NaN"},
        {"totalAmount": "Infinity"},
        {"totalAmount": -25},
        {"items": [{"productId": "p1", "name": "Lamp", "quantity": 2, "price": -12.5}]},
        {"items": [{"productId": "p1", "name": "Lamp", "quantity": 2, "price": True}]},
        {"items": [{"productId": "", "name": "Lamp", "quantity": 2, "price": 12.5}]},
        {"items": [{"productId": "p1", "name": "Lamp", "quantity": 2.5, "price": 12.5}]},
        {"currency": "dollars"},
        {"currency": ""},  # not "missing": an empty currency is not a default to fill in
        {"currency": "  "},
        {"userId": None},
        {"_id": "ord_2"},
    ],
)
def test_an_order_that_cannot_be_charged_exactly_is_garbled(changes: dict[str, Any]) -> None:
    with pytest.raises(GarbledReply):
        order_snapshot(body(**changes), "ord_1")


def test_a_release_reply_about_another_item_is_garbled() -> None:
    reply = json.dumps({"orderId": "ord_1", "productId": "p2", "released": 1}).encode()

    with pytest.raises(GarbledReply):
        check_release_reply(reply, "ord_1", "p1")
