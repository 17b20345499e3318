"""Broken answers for the `malformed` fault: 200s whose bodies a careful client must refuse."""

from __future__ import annotations

from typing import Any

from sandbox.shop.documents import encode


def _stand_in(order_id: str | None) -> dict[str, Any]:
    return {
        "_id": order_id or "000000000000000000000000",
        "userId": "000000000000000000000000",
        "status": "PENDING",
        "items": [{"productId": "x", "name": "x", "quantity": 1, "price": 1}],
        "totalAmount": 1,
        "currency": "usd",
    }


def malformed_body(
    variant: str, route: str, order: dict[str, Any] | None, order_id: str | None
) -> bytes:
    """Corrupt the real order document (or a stand-in) the way `variant` names."""
    if variant == "json":
        return b'{"order": {"_id": "' + (order_id or "").encode() + b'", "items": ['
    if route == "release":
        return encode({"released": "not-a-number", "orderId": 42})
    document = dict(order or _stand_in(order_id))
    items = [dict(item) for item in document.get("items", [])] or _stand_in(order_id)["items"]
    if variant == "price":
        items[0]["price"] = "twelve dollars"
    elif variant == "quantity":
        items[0]["quantity"] = -1
    elif variant == "missing":
        document.pop("totalAmount", None)
    document["items"] = items
    if variant == "type":
        return encode({"order": [document]})
    return encode({"order": document})
