"""The shop's auth service: seeded users log in and get HS256 JWTs with the agreed claims."""

import jwt
import pytest

from tests.fixtures.shop import AUDITOR, TEST_USER, USER_IDS, RunningShop


def test_login_gives_a_jwt_signed_with_the_shared_secret(shop: RunningShop) -> None:
    token = shop.login(TEST_USER)

    claims = jwt.decode(token, shop.jwt_secret, algorithms=["HS256"])
    assert claims["userId"] == USER_IDS[TEST_USER]
    assert claims["email"] == TEST_USER
    assert claims["role"] == "user"
    assert claims["exp"] > claims["iat"]


def test_the_auditor_has_the_auditor_role(shop: RunningShop) -> None:
    claims = jwt.decode(shop.login(AUDITOR), shop.jwt_secret, algorithms=["HS256"])

    assert claims["role"] == "auditor"


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": TEST_USER, "password": "wrong"},
        {"email": "nobody@example.com", "password": "password123"},
    ],
)
def test_bad_credentials_are_refused(shop: RunningShop, credentials: dict[str, str]) -> None:
    response = shop.http.post("/auth/login", json=credentials)

    assert response.status_code == 401
    assert response.json() == {"error": "Invalid credentials"}


def test_a_login_without_a_password_is_a_bad_request(shop: RunningShop) -> None:
    response = shop.http.post("/auth/login", json={"email": TEST_USER})

    assert response.status_code == 400
    assert "error" in response.json()
