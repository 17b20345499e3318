"""The shop as a process: the start-up line it prints, and state kept across restarts."""

import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.fixtures.shop import HEADPHONES, REPO_ROOT, RunningShop


def test_start_up_prints_one_json_line_with_a_working_url(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.shop", "--port", "0"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        announced = json.loads(process.stdout.readline())
        health = httpx.get(f"{announced['url']}/_shop/health", timeout=10)
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert announced["sandbox"] == "shop"
    assert announced["url"].startswith("http://127.0.0.1:")
    assert health.json() == {"ok": True}


def test_a_restart_keeps_orders_stock_and_the_call_log(shop: RunningShop) -> None:
    token = shop.login()
    order = shop.create_order(token, [(HEADPHONES, 3)])
    shop.http.post(
        "/internal/inventory/release",
        json={"productId": HEADPHONES, "quantity": 1, "orderId": order["_id"]},
        headers={**shop.internal_headers(), "Idempotency-Key": "k"},
    )

    shop.restart()

    assert shop.order(order["_id"]) == order
    assert shop.stock(HEADPHONES) == 98
    assert len(shop.calls(order["_id"])) == 1
    again = shop.http.post(
        "/internal/inventory/release",
        json={"productId": HEADPHONES, "quantity": 1, "orderId": order["_id"]},
        headers={**shop.internal_headers(), "Idempotency-Key": "k"},
    )
    assert again.json()["released"] == 1
    assert shop.stock(HEADPHONES) == 98
    mine = shop.http.get("/orders", headers={"Authorization": f"Bearer {token}"})
    assert [o["_id"] for o in mine.json()["orders"]] == [order["_id"]]


def test_a_killed_shop_refuses_connections_until_started_again(shop: RunningShop) -> None:
    order = shop.create_order(shop.login(), [(HEADPHONES, 1)])

    shop.kill()
    try:
        httpx.get(f"{shop.url}/_shop/health", timeout=2)
        reachable = True
    except httpx.ConnectError:
        reachable = False
    shop.start()

    assert not reachable
    assert shop.order(order["_id"])["status"] == "PENDING"
