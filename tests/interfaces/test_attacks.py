"""The attack table (issue 13): what a hostile client sends, and the answer each must get.

Every row is a request a real attacker tried; none may be a 5xx, none may reach
Stripe or the store, and each answer is the seed's `{"error": ...}` with a 4xx.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.interfaces.conftest import JWT_SECRET, Api, as_user, bearer

UNAUTHENTICATED = (401, {"error": "User not authenticated"})
NOT_FOUND = (404, {"error": "Order not found"})


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"userId": "user_1", "email": "user_1@example.com"}
    base["exp"] = int(time.time()) + 3600
    return {key: value for key, value in {**base, **overrides}.items() if value is not None}


def hs256(**overrides: Any) -> str:
    return jwt.encode(claims(**overrides), JWT_SECRET, algorithm="HS256")


def rs256() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return jwt.encode(claims(), pem, algorithm="RS256")


TOKENS: dict[str, Callable[[], str]] = {
    "alg none": lambda: jwt.encode(claims(), None, algorithm="none"),  # type: ignore[arg-type]
    "HS384 with the same secret": lambda: jwt.encode(claims(), JWT_SECRET, algorithm="HS384"),
    "HS512 with the same secret": lambda: jwt.encode(claims(), JWT_SECRET, algorithm="HS512"),
    "RS256 against the HS256 key": rs256,
    "expired": lambda: hs256(exp=int(time.time()) - 5),
    "nbf in the future": lambda: hs256(nbf=int(time.time()) + 3600),
    "no user id": lambda: hs256(userId=None),
    "user id a list": lambda: hs256(userId=["user_1"]),
    "user id an object": lambda: hs256(userId={"id": "user_1"}),
    "user id a fraction": lambda: hs256(userId=1.5),
    "user id a boolean": lambda: hs256(userId=True),
    "exp a numeric string": lambda: hs256(exp="9999999999"),
    "exp a boolean": lambda: hs256(exp=True),
    "nbf a numeric string": lambda: hs256(nbf="1"),
    "iat a numeric string": lambda: hs256(iat="1"),
    "email an object": lambda: hs256(email={"address": "x@example.com"}),
    "role a list": lambda: hs256(role=["admin"]),
    "16 KiB token, correctly signed": lambda: hs256(padding="x" * 16 * 1024),
}
ROUTES: dict[str, tuple[str, str]] = {
    "create-session": ("POST", "/payments/create-session"),
    "status": ("GET", "/payments/status/ord_1"),
    "history": ("GET", "/payments/history/ord_1"),
}


async def call(api: Api, route: str, headers: dict[str, str]) -> tuple[int, Any]:
    method, path = ROUTES[route]
    response = await api.client.request(
        method, path, json={"orderId": "ord_1"} if method == "POST" else None, headers=headers
    )
    return response.status_code, response.json()


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("case", sorted(TOKENS))
async def test_a_hostile_token_is_401_on_every_route(api: Api, case: str, route: str) -> None:
    await api.open_checkout("ord_1", "user_1")
    assert await call(api, route, bearer(TOKENS[case]())) == UNAUTHENTICATED
    assert api.checkout.calls == 1  # only the owner's own checkout


@pytest.mark.parametrize("prefix", ["/payments", ""])
@pytest.mark.parametrize("route", sorted(ROUTES))
async def test_another_users_order_is_not_found_on_every_route(
    api: Api, route: str, prefix: str
) -> None:
    await api.open_checkout("ord_1", "user_1")
    method, path = ROUTES[route]
    response = await api.client.request(
        method,
        path.replace("/payments", prefix, 1),
        json={"orderId": "ord_1"} if method == "POST" else None,
        headers=as_user("user_2"),
    )
    assert (response.status_code, response.json()) == NOT_FOUND
    assert api.checkout.calls == 1
