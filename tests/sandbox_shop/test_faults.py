"""Fault injection on the internal endpoints: errors for a while, broken bodies, slow answers."""

import json
import time
from decimal import Decimal, InvalidOperation

import httpx
import pytest

from tests.fixtures.shop import HEADPHONES, RunningShop


def _get(shop: RunningShop, order_id: str) -> httpx.Response:
    return shop.http.get(f"/internal/orders/{order_id}", headers=shop.internal_headers())


def _confirm(shop: RunningShop, order_id: str, timeout: float = 10.0) -> httpx.Response:
    return shop.http.patch(
        f"/internal/orders/{order_id}/status", json={"status": "CONFIRMED"},
        headers=shop.internal_headers(), timeout=timeout,
    )  # fmt: skip


def test_a_timed_fault_answers_errors_then_the_shop_recovers(shop: RunningShop) -> None:
    order = shop.create_order(shop.login(), [(HEADPHONES, 1)])
    shop.set_fault("order_status", status=500, seconds=1)
    # The first call fails however long it takes to get there: a counted fault, newer, so
    # it answers first; from then on only the timed fault is left, until it runs out.
    shop.set_fault("order_status", status=500, times=1)

    failed = _confirm(shop, order["_id"])
    deadline = time.monotonic() + 10
    while (recovered := _confirm(shop, order["_id"])).status_code != 200:
        assert time.monotonic() < deadline, "the fault never expired"
        time.sleep(0.1)

    assert failed.status_code == 500
    assert shop.order(order["_id"])["status"] == "CONFIRMED"
    assert recovered.json()["order"]["status"] == "CONFIRMED"
    statuses = {c["status"] for c in shop.calls(order["_id"], route="order_status")}
    assert statuses == {500, 200}
    assert shop.effects(order["_id"])["confirmed"] == 1


def test_a_fault_only_hits_its_route_and_can_be_cleared(shop: RunningShop) -> None:
    order = shop.create_order(shop.login(), [(HEADPHONES, 1)])
    shop.set_fault("order_status", mode="down")

    assert _get(shop, order["_id"]).status_code == 200
    assert _confirm(shop, order["_id"]).status_code == 503
    shop.clear_faults()
    assert _confirm(shop, order["_id"]).status_code == 200


def test_a_counted_fault_fails_only_that_many_calls(shop: RunningShop) -> None:
    order = shop.create_order(shop.login(), [(HEADPHONES, 1)])
    shop.set_fault(status=502, times=2)

    statuses = [_get(shop, order["_id"]).status_code for _ in range(3)]

    assert statuses == [502, 502, 200]


def test_an_applied_fault_does_the_work_but_loses_the_answer(shop: RunningShop) -> None:
    order = shop.create_order(shop.login(), [(HEADPHONES, 1)])
    shop.set_fault("order_status", status=500, apply=True, times=1)

    assert _confirm(shop, order["_id"]).status_code == 500
    assert shop.order(order["_id"])["status"] == "CONFIRMED"


def test_malformed_answers_are_200s_a_careful_client_must_refuse(shop: RunningShop) -> None:
    order = shop.create_order(shop.login(), [(HEADPHONES, 1)])
    bodies = {}
    for variant in ("price", "quantity", "missing", "type", "json"):
        shop.set_fault("order_get", mode="malformed", variant=variant)
        response = _get(shop, order["_id"])
        shop.clear_faults()
        assert response.status_code == 200, variant
        bodies[variant] = response.content

    with pytest.raises(ValueError):
        json.loads(bodies["json"])
    with pytest.raises(InvalidOperation):
        Decimal(json.loads(bodies["price"])["order"]["items"][0]["price"])
    assert json.loads(bodies["quantity"])["order"]["items"][0]["quantity"] < 0
    assert "totalAmount" not in json.loads(bodies["missing"])["order"]
    assert isinstance(json.loads(bodies["type"])["order"], list)
    assert _get(shop, order["_id"]).json() == {"order": order}


def test_a_delayed_answer_times_the_client_out_but_the_work_is_done(shop: RunningShop) -> None:
    order = shop.create_order(shop.login(), [(HEADPHONES, 1)])
    shop.set_fault("order_status", mode="delay", seconds=1.5)

    with pytest.raises(httpx.ReadTimeout):
        _confirm(shop, order["_id"], timeout=0.2)

    assert shop.order(order["_id"])["status"] == "CONFIRMED"
    shop.clear_faults()
    assert _confirm(shop, order["_id"]).status_code == 200
    assert shop.effects(order["_id"])["confirmed"] == 1


def test_bad_fault_specs_are_refused(shop: RunningShop) -> None:
    for spec in ({"route": "everything"}, {"mode": "explode"}, {"colour": "red"}):
        assert shop.http.post("/_shop/faults", json=spec).status_code == 400, spec


def _release(shop: RunningShop, order_id: str) -> httpx.Response:
    return shop.http.post(
        "/internal/inventory/release",
        json={"orderId": order_id, "productId": HEADPHONES, "quantity": 1},
        headers={**shop.internal_headers(), "Idempotency-Key": f"release:{order_id}"},
    )


@pytest.mark.parametrize(
    ("status", "body"), [(200, "{}"), (200, ""), (204, ""), (200, '{"ok": true}')]
)
def test_a_reply_fault_does_the_work_and_answers_as_told(
    shop: RunningShop, status: int, body: str
) -> None:
    paid, abandoned = (shop.create_order(shop.login(), [(HEADPHONES, 1)]) for _ in range(2))
    stock = shop.stock(HEADPHONES)
    shop.set_fault("order_status", mode="reply", status=status, body=body)
    shop.set_fault("release", mode="reply", status=status, body=body)

    confirmed, released = _confirm(shop, paid["_id"]), _release(shop, abandoned["_id"])

    for answer in (confirmed, released):
        assert (answer.status_code, answer.text) == (status, body)
        assert answer.headers.get("content-type") == ("application/json" if body else None)
    assert shop.order(paid["_id"])["status"] == "CONFIRMED"
    assert shop.stock(HEADPHONES) == stock + 1
    calls = shop.calls(paid["_id"]) + shop.calls(abandoned["_id"])
    assert [c["status"] for c in calls] == [status, status]


def test_a_reply_fault_can_name_another_order(shop: RunningShop) -> None:
    order, other = (shop.create_order(shop.login(), [(HEADPHONES, 1)]) for _ in range(2))
    shop.set_fault("order_status", mode="reply", body=json.dumps({"order": other}), times=1)

    answer = _confirm(shop, order["_id"])

    assert answer.json() == {"order": other}
    assert shop.order(order["_id"])["status"] == "CONFIRMED"
    assert shop.order(other["_id"])["status"] == "PENDING"


def test_a_bodiless_status_with_a_body_is_refused(shop: RunningShop) -> None:
    spec = {"route": "order_status", "mode": "reply", "status": 204, "body": "{}"}

    assert shop.http.post("/_shop/faults", json=spec).status_code == 400
