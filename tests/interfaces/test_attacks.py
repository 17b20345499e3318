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

from tests.fakes import an_order
from tests.interfaces.conftest import JWT_SECRET, WEBHOOK_SECRET, Api, as_user, bearer
from tests.interfaces.test_webhook import post_raw, stored_versions
from tests.stripe_payloads import checkout_event, encode, sign

UNAUTHENTICATED = (401, {"error": "User not authenticated"})
NOT_FOUND = (404, {"error": "Order not found"})
INVALID_SIGNATURE = (400, {"error": "Invalid signature"})
INVALID_PAYLOAD = (400, {"error": "Invalid payload"})
TOO_LARGE = (413, {"error": "Payload too large"})
NESTED = b"[" * 2048 + b"]" * 2048  # about 4 KB; msgspec gives up after ~1,000 levels
BIG = b"[" + b" " * 10 * 1024 * 1024 + b"]"
NOT_UTF8 = b'{"id": "evt_\xff\xfe", "type": "checkout.session.completed", "data": {"object": {}}}'


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


def signed(body: bytes) -> str:
    return sign(body, WEBHOOK_SECRET)


def genuine(session_id: str) -> bytes:
    return encode(checkout_event("checkout.session.completed", "ord_1", session_id))


WEBHOOKS: dict[str, tuple[Callable[[bytes], tuple[bytes, str | None]], tuple[int, Any]]] = {
    "no signature": (lambda body: (body, None), INVALID_SIGNATURE),
    "forged signature": (lambda body: (body, sign(body, "whsec_attacker")), INVALID_SIGNATURE),
    "signature too old": (
        lambda body: (body, sign(body, WEBHOOK_SECRET, timestamp=int(time.time()) - 301)),
        INVALID_SIGNATURE,
    ),
    "valid signature over a changed body": (
        lambda body: (body.replace(b'"paid"', b'"unpaid"'), signed(body)),
        INVALID_SIGNATURE,
    ),
    "10 MiB body": (lambda _: (BIG, signed(BIG)), TOO_LARGE),
    # Stripe's library verifies text: a body that is not UTF-8 cannot carry a good signature.
    "invalid UTF-8": (lambda _: (NOT_UTF8, signed(NOT_UTF8)), INVALID_SIGNATURE),
    "deep nesting, signed": (lambda _: (NESTED, signed(NESTED)), INVALID_PAYLOAD),
    "deep nesting inside a real event, signed": (
        lambda body: (nested_inside(body), signed(nested_inside(body))),
        INVALID_PAYLOAD,
    ),
    "deep nesting, unsigned": (lambda _: (NESTED, None), INVALID_SIGNATURE),
}


def nested_inside(body: bytes) -> bytes:
    return body.replace(b'"discounts": []', b'"discounts": ' + NESTED)


@pytest.mark.parametrize("case", sorted(WEBHOOKS))
async def test_a_hostile_webhook_is_refused_and_stores_nothing(api: Api, case: str) -> None:
    session_id = await api.open_checkout()
    attack, expected = WEBHOOKS[case]
    body, signature = attack(genuine(session_id))
    assert await post_raw(api, body, signature) == expected
    assert stored_versions(api.ledger) == 1


ORDER_IDS: dict[str, tuple[Any, str]] = {
    "a number": (42, "orderId must be a string"),
    "a list": (["ord_1"], "orderId must be a string"),
    "an object": ({"$ne": None}, "orderId must be a string"),
    "a boolean": (True, "orderId must be a string"),
    "null": (None, "orderId is required"),
    "empty": ("", "orderId is required"),
    "blank": ("  \u3000", "orderId is required"),
    "10 KiB": ("o" * 10 * 1024, "orderId must be at most 200 characters"),
    "a NUL byte": ("ord\x001", "orderId must not contain control characters"),
    "a newline": ("ord_1\nINFO forged log line", "orderId must not contain control characters"),
    "an ANSI escape": ("\x1b[31mord_1", "orderId must not contain control characters"),
    "a DEL": ("ord_1\x7f", "orderId must not contain control characters"),
    "a C1 control": ("ord_1\x85", "orderId must not contain control characters"),
}


@pytest.mark.parametrize("case", sorted(ORDER_IDS))
async def test_a_hostile_order_id_is_400_with_a_clear_error(api: Api, case: str) -> None:
    value, message = ORDER_IDS[case]
    api.orders.add(an_order(str(value), "user_1"))
    response = await api.client.post(
        "/payments/create-session", json={"orderId": value}, headers=as_user()
    )
    assert (response.status_code, response.json()) == (400, {"error": message})
    assert api.checkout.calls == 0


@pytest.mark.parametrize(
    "body",
    [NESTED, b'{"orderId": "ord_1", "x": ' + NESTED + b"}", b'{"orderId": ' + NESTED + b"}"],
    ids=["top level", "beside the order id", "as the order id"],
)
async def test_a_deeply_nested_create_session_body_is_400(api: Api, body: bytes) -> None:
    api.orders.add(an_order("ord_1", "user_1"))
    headers = {**as_user(), "Content-Type": "application/json"}
    response = await api.client.post("/payments/create-session", content=body, headers=headers)
    assert (response.status_code, response.json()) == (
        400,
        {"error": "Request body is nested too deeply"},
    )
    assert api.checkout.calls == 0


async def test_a_10_mib_create_session_body_is_413(api: Api) -> None:
    body = b'{"orderId": "ord_1", "padding": "' + b"x" * 10 * 1024 * 1024 + b'"}'
    headers = {**as_user(), "Content-Type": "application/json"}
    response = await api.client.post("/payments/create-session", content=body, headers=headers)
    assert (response.status_code, response.json()) == TOO_LARGE
    assert api.checkout.calls == 0
