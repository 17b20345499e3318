"""Create-session is rate limited per user: 429 with `Retry-After`, never another user's budget."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from application.ledger import PaymentLedger
from tests.fakes import an_order
from tests.interfaces.conftest import Api, api_on, as_user

LIMIT = 3
TOO_MANY = {"error": "Too many requests"}


@pytest.fixture
async def limited(ledger: PaymentLedger) -> AsyncIterator[Api]:
    async with api_on(ledger, create_session_rate_limit=LIMIT) as api:
        for user in ("user_1", "user_2"):
            api.orders.add(an_order(f"ord_{user}", user))
        yield api


async def create(api: Api, user: str, path: str = "/payments/create-session") -> tuple[int, object]:
    response = await api.client.post(path, json={"orderId": f"ord_{user}"}, headers=as_user(user))
    return response.status_code, response.headers.get("retry-after")


async def test_over_the_limit_a_user_gets_429_with_retry_after(limited: Api) -> None:
    answers = [await create(limited, "user_1") for _ in range(LIMIT)]
    assert [status for status, _ in answers] == [200] * LIMIT

    response = await limited.client.post(
        "/payments/create-session", json={"orderId": "ord_user_1"}, headers=as_user("user_1")
    )

    assert (response.status_code, response.json()) == (429, TOO_MANY)
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_both_paths_share_one_budget(limited: Api) -> None:
    for path in ("/payments/create-session", "/create-session", "/payments/create-session"):
        assert (await create(limited, "user_1", path))[0] == 200
    assert (await create(limited, "user_1", "/create-session"))[0] == 429


async def test_one_users_burst_leaves_another_user_alone(limited: Api) -> None:
    for _ in range(LIMIT + 2):
        await create(limited, "user_1")
    assert (await create(limited, "user_2"))[0] == 200


async def test_other_routes_are_not_limited(limited: Api) -> None:
    for _ in range(LIMIT):
        await create(limited, "user_1")
    for _ in range(LIMIT + 2):
        status = await limited.client.get("/payments/status/ord_user_1", headers=as_user("user_1"))
        assert status.status_code == 200


async def test_unauthenticated_requests_are_401_not_counted(limited: Api) -> None:
    for _ in range(LIMIT + 2):
        response = await limited.client.post("/create-session", json={"orderId": "ord_user_1"})
        assert response.status_code == 401
    assert (await create(limited, "user_1"))[0] == 200


async def test_the_default_limit_is_generous(api: Api) -> None:
    api.orders.add(an_order("ord_1", "user_1"))
    for _ in range(30):
        response = await api.client.post(
            "/create-session", json={"orderId": "ord_1"}, headers=as_user("user_1")
        )
        assert response.status_code == 200
