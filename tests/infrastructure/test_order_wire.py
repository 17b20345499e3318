"""Order-service answers a careful client refuses, beyond what the shop's faults can produce."""

from __future__ import annotations

import json
from typing import Any

import pytest

from domain.money import Money
from domain.order import OrderStatus
from infrastructure.neighbours.order_wire import (
    GarbledReply,
    order_snapshot,
    release_reply_contradiction,
    status_reply_contradiction,
)


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


SAYS_NOTHING = [b"", b"  ", b"{}", b'{"ok": true}', b"[]", b"null", b'{"order": [', b"OK"]


@pytest.mark.parametrize("reply", SAYS_NOTHING)
def test_a_reply_in_another_shape_or_none_says_nothing_against_the_request(reply: bytes) -> None:
    assert status_reply_contradiction(reply, "ord_1", "CONFIRMED") is None
    assert release_reply_contradiction(reply, "ord_1", "p1") is None


def test_a_reply_that_agrees_with_the_request_says_nothing_against_it() -> None:
    status = json.dumps({"order": {"_id": "ord_1", "status": "CONFIRMED", "items": []}})
    release = json.dumps({"orderId": "ord_1", "productId": "p1", "released": 2})

    assert status_reply_contradiction(status.encode(), "ord_1", "CONFIRMED") is None
    assert release_reply_contradiction(release.encode(), "ord_1", "p1") is None


@pytest.mark.parametrize(
    ("order_id", "status", "named"),
    [("ord_2", "CONFIRMED", "ord_2 CONFIRMED"), ("ord_1", "CANCELLED", "ord_1 CANCELLED")],
)
def test_a_status_reply_naming_another_order_or_status_is_a_contradiction(
    order_id: str, status: str, named: str
) -> None:
    reply = json.dumps({"order": {"_id": order_id, "status": status}}).encode()

    contradiction = status_reply_contradiction(reply, "ord_1", "CONFIRMED")

    assert contradiction == f"asked ord_1 CONFIRMED, answered {named}"


@pytest.mark.parametrize(("order_id", "product_id"), [("ord_1", "p2"), ("ord_2", "p1")])
def test_a_release_reply_about_another_item_is_a_contradiction(
    order_id: str, product_id: str
) -> None:
    reply = json.dumps({"orderId": order_id, "productId": product_id, "released": 1}).encode()

    contradiction = release_reply_contradiction(reply, "ord_1", "p1")

    assert contradiction == f"asked ord_1 p1, answered {order_id} {product_id}"


def test_our_statuses_become_the_enum_and_any_other_is_kept_as_it_came() -> None:
    assert order_snapshot(body(), "ord_1").status is OrderStatus.PENDING
    assert order_snapshot(body(status="CANCELLED"), "ord_1").status is OrderStatus.CANCELLED
    assert order_snapshot(body(status="SHIPPED"), "ord_1").status == "SHIPPED"
