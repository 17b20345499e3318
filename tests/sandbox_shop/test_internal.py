"""The internal endpoints the payment service calls, and the call log that audits them."""

from typing import Any

import httpx

from tests.fixtures.shop import HEADPHONES, KEYBOARD, RunningShop, ShopFactory


def _release(
    shop: RunningShop,
    order: dict[str, Any],
    key: str,
    quantity: int = 2,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return shop.http.post(
        "/internal/inventory/release",
        json={"productId": HEADPHONES, "quantity": quantity, "orderId": order["_id"]},
        headers={
            **(shop.internal_headers() if headers is None else headers),
            "Idempotency-Key": key,
        },
    )


def _set_status(shop: RunningShop, order_id: str, status: str) -> httpx.Response:
    return shop.http.patch(
        f"/internal/orders/{order_id}/status", json={"status": status},
        headers=shop.internal_headers(),
    )  # fmt: skip


FORBIDDEN_HEADERS = [
    {},
    {"X-Internal-Service": "someone-else"},
    {"X-Internal-Service": "payment-service"},
    {"X-Internal-Service": "payment-service", "Authorization": "Bearer wrong"},
]


def test_internal_calls_need_the_header_and_the_token(shop: RunningShop) -> None:
    order = shop.create_order(shop.login(), [(HEADPHONES, 2)])
    path = f"/internal/orders/{order['_id']}"

    for headers in FORBIDDEN_HEADERS:
        for response in (
            shop.http.get(path, headers=headers),
            shop.http.patch(f"{path}/status", json={"status": "CANCELLED"}, headers=headers),
            _release(shop, order, "k", headers=headers),
        ):
            assert response.status_code == 403, (headers, response.request.url)
            assert response.json() == {"error": "Forbidden"}
    assert shop.order(order["_id"])["status"] == "PENDING"
    assert shop.stock(HEADPHONES) == 98


def test_without_a_token_configured_the_header_is_enough(shop_factory: ShopFactory) -> None:
    shop = shop_factory(internal_token=None)
    order = shop.create_order(shop.login(), [(HEADPHONES, 1)])

    response = shop.http.get(
        f"/internal/orders/{order['_id']}", headers={"X-Internal-Service": "payment-service"}
    )

    assert response.status_code == 200
    assert response.json() == {"order": order}


def test_an_unknown_order_is_404(shop: RunningShop) -> None:
    response = shop.http.get(
        "/internal/orders/0123456789abcdef01234567", headers=shop.internal_headers()
    )

    assert response.status_code == 404
    assert response.json() == {"error": "Order not found"}


def test_release_is_idempotent_by_key_and_never_exceeds_the_reservation(
    shop: RunningShop,
) -> None:
    order = shop.create_order(shop.login(), [(HEADPHONES, 2), (KEYBOARD, 1)])
    assert shop.stock(HEADPHONES) == 98

    first = _release(shop, order, "release:a")
    again = _release(shop, order, "release:a")
    other_key = _release(shop, order, "release:b")
    reused_key = _release(shop, order, "release:a", quantity=1)

    assert (first.status_code, again.status_code, other_key.status_code) == (200, 200, 200)
    assert first.json() == again.json() == {
        "orderId": order["_id"], "productId": HEADPHONES, "released": 2,
    }  # fmt: skip
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other_key.json()["released"] == 0
    assert reused_key.status_code == 409
    assert shop.stock(HEADPHONES) == 100
    assert shop.stock(KEYBOARD) == 49
    assert shop.effects(order["_id"])["released"] == {HEADPHONES: 2}


def test_release_needs_an_idempotency_key(shop: RunningShop) -> None:
    order = shop.create_order(shop.login(), [(HEADPHONES, 1)])

    response = shop.http.post(
        "/internal/inventory/release",
        json={"productId": HEADPHONES, "quantity": 1, "orderId": order["_id"]},
        headers=shop.internal_headers(),
    )

    assert response.status_code == 400
    assert shop.stock(HEADPHONES) == 99


def test_status_changes_are_repeatable_but_never_reversed(shop: RunningShop) -> None:
    order = shop.create_order(shop.login(), [(HEADPHONES, 1)])

    first = _set_status(shop, order["_id"], "CONFIRMED")
    repeated = _set_status(shop, order["_id"], "CONFIRMED")
    reversed_ = _set_status(shop, order["_id"], "CANCELLED")
    nonsense = _set_status(shop, order["_id"], "SHIPPED")

    assert first.status_code == repeated.status_code == 200
    assert repeated.json()["order"]["status"] == "CONFIRMED"
    assert reversed_.status_code == 409
    assert nonsense.status_code == 400
    assert _release(shop, order, "release:late", quantity=1).status_code == 409
    effects = shop.effects(order["_id"])
    assert (effects["confirmed"], effects["cancelled"]) == (1, 0)


def test_every_internal_call_is_logged(shop: RunningShop) -> None:
    order = shop.create_order(shop.login(), [(HEADPHONES, 2)])
    shop.http.get(f"/internal/orders/{order['_id']}")  # refused: no header
    _release(shop, order, "release:x")
    _set_status(shop, order["_id"], "CANCELLED")

    calls = shop.calls(order["_id"])

    assert [(c["route"], c["method"], c["status"]) for c in calls] == [
        ("order_get", "GET", 403),
        ("release", "POST", 200),
        ("order_status", "PATCH", 200),
    ]
    assert calls[1]["idempotencyKey"] == "release:x"
    assert calls[1]["body"] == {"productId": HEADPHONES, "quantity": 2, "orderId": order["_id"]}
    assert calls[2]["body"] == {"status": "CANCELLED"}
    assert shop.calls(order["_id"], route="release") == [calls[1]]
