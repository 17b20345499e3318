"""`GET /payments/history/{orderId}`: the owner or an auditor sees every event; others see 404."""

from __future__ import annotations

import pytest

from domain.audit_chain import GENESIS_HASH
from tests.interfaces.conftest import Api, as_user
from tests.stripe_payloads import checkout_event

PATHS = ["/payments/history/{}", "/history/{}"]


async def paid_order(api: Api) -> None:
    session_id = await api.open_checkout("ord_1", "user_1")
    response = await api.webhook(checkout_event("checkout.session.completed", "ord_1", session_id))
    assert response.status_code == 200


@pytest.mark.parametrize("path", PATHS)
async def test_the_owner_reads_every_event_in_order(api: Api, path: str) -> None:
    await paid_order(api)

    response = await api.client.get(path.format("ord_1"), headers=as_user("user_1"))

    assert response.status_code == 200
    body = response.json()
    assert body["orderId"] == "ord_1"
    entries = body["entries"]
    assert [e["type"] for e in entries] == ["Initiated", "Succeeded"]
    assert [e["version"] for e in entries] == [1, 2]
    assert entries[0]["previousHash"] == GENESIS_HASH
    assert entries[1]["previousHash"] == entries[0]["chainHash"]
    assert entries[0]["data"]["amount"] == {"minor": 20498, "currency": "usd"}
    assert entries[1]["data"]["payment_intent"] == "pi_test_1"
    assert all(e["recordedAt"] for e in entries)


@pytest.mark.parametrize("role", ["auditor", "admin"])
async def test_auditors_and_admins_read_any_order(api: Api, role: str) -> None:
    await paid_order(api)
    response = await api.client.get("/history/ord_1", headers=as_user("staff_9", role=role))
    assert response.status_code == 200
    assert len(response.json()["entries"]) == 2


async def test_someone_elses_order_is_not_found(api: Api) -> None:
    await paid_order(api)
    response = await api.client.get("/payments/history/ord_1", headers=as_user("user_2"))
    assert (response.status_code, response.json()) == (404, {"error": "Order not found"})


async def test_a_role_that_is_not_privileged_reads_nothing_of_others(api: Api) -> None:
    await paid_order(api)
    response = await api.client.get("/history/ord_1", headers=as_user("user_2", role="support"))
    assert response.status_code == 404


async def test_an_unknown_order_is_not_found(api: Api) -> None:
    response = await api.client.get("/history/ord_nope", headers=as_user("staff", role="auditor"))
    assert (response.status_code, response.json()) == (404, {"error": "Order not found"})


async def test_history_needs_a_token(api: Api) -> None:
    await paid_order(api)
    response = await api.client.get("/history/ord_1")
    assert (response.status_code, response.json()) == (401, {"error": "User not authenticated"})


async def test_history_carries_no_internal_topics_or_secrets(api: Api) -> None:
    await paid_order(api)
    response = await api.client.get("/history/ord_1", headers=as_user("user_1"))
    text = response.text
    assert "originator_topic" not in text and "whsec_" not in text
