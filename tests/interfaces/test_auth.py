"""Who may call the payment routes: the auth service's HS256 tokens, and nothing else."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes import an_order
from tests.interfaces.conftest import JWT_SECRET, Api, as_user, bearer, token_for

UNAUTHENTICATED = {"error": "User not authenticated"}


async def create(api: Api, headers: dict[str, str], order_id: str = "ord_1") -> tuple[int, object]:
    api.orders.add(an_order(order_id, "user_1"))
    response = await api.client.post(
        "/payments/create-session", json={"orderId": order_id}, headers=headers
    )
    return response.status_code, response.json()


def rsa_private_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def unsigned_token() -> str:
    claims = {"userId": "user_1", "exp": int(time.time()) + 3600}
    return jwt.encode(claims, key=None, algorithm="none")  # type: ignore[arg-type]


BAD_HEADERS = {
    "missing header": {},
    "not a bearer scheme": {"Authorization": f"Token {token_for()}"},
    "bearer without token": {"Authorization": "Bearer "},
    "garbage token": bearer("not.a.jwt"),
    "wrong secret": bearer(token_for(secret="someone-elses-secret-of-enough-length")),
    "expired": bearer(token_for(expires_in=-5)),
    "no exp claim": bearer(jwt.encode({"userId": "user_1"}, JWT_SECRET, algorithm="HS256")),
    "alg none": bearer(unsigned_token()),
    "no user id claim": bearer(
        jwt.encode({"email": "a@b.c", "exp": int(time.time()) + 60}, JWT_SECRET, "HS256")
    ),
    "exp beyond any date": bearer(token_for(expires_in=10**13)),
    "HS512 not allowed": bearer(
        jwt.encode({"userId": "user_1", "exp": int(time.time()) + 60}, JWT_SECRET, "HS512")
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_HEADERS))
async def test_bad_credentials_are_401_on_create_session(api: Api, case: str) -> None:
    assert await create(api, BAD_HEADERS[case]) == (401, UNAUTHENTICATED)
    assert api.checkout.calls == 0


@pytest.mark.parametrize("case", sorted(BAD_HEADERS))
async def test_bad_credentials_are_401_on_status(api: Api, case: str) -> None:
    await api.open_checkout()
    response = await api.client.get("/status/ord_1", headers=BAD_HEADERS[case])
    assert (response.status_code, response.json()) == (401, UNAUTHENTICATED)


async def test_rs256_signed_token_is_rejected(api: Api) -> None:
    claims = {"userId": "user_1", "exp": int(time.time()) + 3600}
    token = jwt.encode(claims, rsa_private_pem(), algorithm="RS256")
    assert await create(api, bearer(token)) == (401, UNAUTHENTICATED)


@pytest.mark.parametrize("claim", ["userId", "id", "sub"])
async def test_user_id_is_read_from_any_of_the_seed_claims(api: Api, claim: str) -> None:
    status, body = await create(api, as_user("user_1", claim=claim))
    assert status == 200, body


async def test_numeric_user_id_claim_is_accepted(api: Api) -> None:
    api.orders.add(an_order("ord_7", "42"))
    response = await api.client.post(
        "/create-session",
        json={"orderId": "ord_7"},
        headers=bearer(token_for(42, claim="id")),  # type: ignore[arg-type]
    )
    assert response.status_code == 200


async def test_a_boolean_user_id_names_nobody(api: Api) -> None:
    api.orders.add(an_order("ord_t", "True"))
    response = await api.client.post(
        "/create-session",
        json={"orderId": "ord_t"},
        headers=bearer(token_for(True, claim="userId")),  # type: ignore[arg-type]
    )
    assert (response.status_code, response.json()) == (401, UNAUTHENTICATED)
    assert api.checkout.calls == 0


@pytest.mark.parametrize("unusable", ["", "  ", True, False, None, [], {}])
async def test_an_unusable_user_id_claim_does_not_hide_a_valid_one(
    api: Api, unusable: object
) -> None:
    token = token_for(unusable, claim="userId", sub="user_1")  # type: ignore[arg-type]
    status, body = await create(api, bearer(token))
    assert status == 200, body


async def test_someone_elses_order_is_not_found_on_create(api: Api) -> None:
    status, body = await create(api, as_user("user_2"))
    assert (status, body) == (404, {"error": "Order not found"})
    assert api.checkout.calls == 0


async def test_someone_elses_payment_is_not_found_on_status(api: Api) -> None:
    await api.open_checkout("ord_1", "user_1")
    response = await api.client.get("/payments/status/ord_1", headers=as_user("user_2"))
    assert (response.status_code, response.json()) == (404, {"error": "Order not found"})


@pytest.mark.parametrize("role", ["auditor", "admin"])
async def test_auditor_and_admin_read_any_payment(api: Api, role: str) -> None:
    await api.open_checkout("ord_1", "user_1")
    response = await api.client.get("/status/ord_1", headers=as_user("staff_9", role=role))
    assert response.status_code == 200
    assert response.json()["orderId"] == "ord_1"


async def test_a_role_claim_does_not_open_create_session_for_others(api: Api) -> None:
    status, body = await create(api, as_user("staff_9", role="admin"))
    assert (status, body) == (404, {"error": "Order not found"})


async def test_public_routes_need_no_token(api: Api) -> None:
    for path in ("/health", "/ready", "/schema/openapi.json"):
        assert (await api.client.get(path)).status_code == 200, path
