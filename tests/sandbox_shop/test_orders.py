"""The shop's order service as a customer sees it: reservation, validation, ownership."""

import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import jwt

from tests.fixtures.shop import (
    HEADPHONES,
    KEYBOARD,
    LIMITED_PRINT,
    OTHER_USER,
    USER_IDS,
    RunningShop,
)


def test_products_are_listed_with_stock_and_prices_in_major_units(shop: RunningShop) -> None:
    products = shop.http.get("/products").json()["products"]

    headphones = next(p for p in products if p["_id"] == HEADPHONES)
    assert headphones == {
        "_id": HEADPHONES, "name": "Wireless Headphones", "price": 99.99, "stock": 100,
        "currency": "usd",
    }  # fmt: skip


def test_creating_an_order_reserves_its_stock(shop: RunningShop) -> None:
    token = shop.login()

    response = shop.http.post(
        "/orders",
        json={
            "items": [
                {"productId": HEADPHONES, "quantity": 2},
                {"productId": KEYBOARD, "quantity": 1},
            ]
        },
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 201
    order = response.json()["order"]
    assert re.fullmatch(r"[0-9a-f]{24}", order["_id"])
    assert order["userId"] == USER_IDS["testuser@example.com"]
    assert order["status"] == "PENDING"
    assert order["currency"] == "usd"
    assert order["totalAmount"] == 349.48  # 2 x 99.99 + 149.50, summed as decimals
    assert order["items"][0] == {
        "productId": HEADPHONES, "name": "Wireless Headphones", "quantity": 2, "price": 99.99,
    }  # fmt: skip
    assert shop.stock(HEADPHONES) == 98
    assert shop.stock(KEYBOARD) == 49


def test_short_stock_refuses_the_whole_order_and_reserves_nothing(shop: RunningShop) -> None:
    token = shop.login()

    response = shop.http.post(
        "/orders",
        json={
            "items": [
                {"productId": HEADPHONES, "quantity": 1},
                {"productId": LIMITED_PRINT, "quantity": 3},
            ]
        },
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 400
    assert response.json() == {"error": "Insufficient stock for Limited Edition Print"}
    assert shop.stock(HEADPHONES) == 100
    assert shop.stock(LIMITED_PRINT) == 2


def test_bad_input_is_a_400_and_no_token_a_401(shop: RunningShop) -> None:
    auth = {"Authorization": f"Bearer {shop.login()}"}
    bad_bodies = [
        {"items": []},
        {"items": [{"productId": HEADPHONES, "quantity": 0}]},
        {"items": [{"productId": HEADPHONES, "quantity": "two"}]},
        {"items": [{"productId": "64a0000000000000000000ff", "quantity": 1}]},
        {},
    ]
    for body in bad_bodies:
        response = shop.http.post("/orders", json=body, headers=auth)
        assert response.status_code == 400, body
        assert "error" in response.json()

    assert shop.http.post("/orders", json={"items": []}).status_code == 401
    forged = {"Authorization": "Bearer not.a.jwt"}
    assert shop.http.get("/orders", headers=forged).status_code == 401


def test_only_the_owner_sees_an_order(shop: RunningShop) -> None:
    owner = shop.login()
    order = shop.create_order(owner, [(HEADPHONES, 1)])

    mine = shop.http.get(f"/orders/{order['_id']}", headers={"Authorization": f"Bearer {owner}"})
    other = shop.login(OTHER_USER)
    theirs = shop.http.get(f"/orders/{order['_id']}", headers={"Authorization": f"Bearer {other}"})
    listed = shop.http.get("/orders", headers={"Authorization": f"Bearer {other}"})

    assert mine.status_code == 200
    assert mine.json()["order"] == order
    assert theirs.status_code == 404
    assert theirs.json() == {"error": "Order not found"}
    assert listed.json() == {"orders": []}


def test_admin_orders_can_be_in_any_currency_with_any_total(shop: RunningShop) -> None:
    order = shop.admin_order(
        [{"productId": "jp-1", "name": "Tea set", "quantity": 2, "price": 1500}],
        currency="JPY",
        totalAmount=2999,
    )

    assert order["currency"] == "jpy"
    assert order["totalAmount"] == 2999
    assert shop.order(order["_id"]) == order


def test_concurrent_orders_never_oversell(shop: RunningShop) -> None:
    token = shop.login()
    body = {"items": [{"productId": LIMITED_PRINT, "quantity": 1}]}

    def place(_: int) -> int:
        with httpx.Client(base_url=shop.url, timeout=10) as client:
            response = client.post(
                "/orders", json=body, headers={"Authorization": f"Bearer {token}"}
            )
            return response.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(place, range(8)))

    assert statuses == [201, 201] + [400] * 6
    assert shop.stock(LIMITED_PRINT) == 0


def test_an_expired_token_is_refused(shop: RunningShop) -> None:
    expired = jwt.encode(
        {"userId": USER_IDS["testuser@example.com"], "exp": int(time.time()) - 60},
        shop.jwt_secret,
        algorithm="HS256",
    )

    response = shop.http.get("/orders", headers={"Authorization": f"Bearer {expired}"})

    assert response.status_code == 401
    assert response.json() == {"error": "Invalid token"}


def test_the_browser_returning_from_checkout_gets_a_page_not_a_401(shop: RunningShop) -> None:
    order_id = shop.create_order(shop.login(), [(HEADPHONES, 1)])["_id"]

    paid = shop.http.get(f"/orders/{order_id}", params={"payment": "success", "session_id": "cs_1"})
    cancelled = shop.http.get(f"/orders/{order_id}", params={"payment": "cancelled"})

    assert paid.status_code == 200 and "being confirmed" in paid.text
    assert paid.headers["content-type"].startswith("text/html")
    assert "cancelled" in cancelled.text
    assert shop.http.get(f"/orders/{order_id}").status_code == 401
