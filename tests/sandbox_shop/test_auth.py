"""The shop's auth service: seeded users log in and get HS256 JWTs with the agreed claims."""

import jwt

from tests.fixtures.shop import ADMIN, AUDITOR, TEST_USER, USER_IDS, RunningShop


def test_login_gives_a_jwt_signed_with_the_shared_secret(shop: RunningShop) -> None:
    token = shop.login(TEST_USER)

    claims = jwt.decode(token, shop.jwt_secret, algorithms=["HS256"])
    assert claims["userId"] == USER_IDS[TEST_USER]
    assert claims["email"] == TEST_USER
    assert claims["role"] == "user"
    assert claims["exp"] > claims["iat"]
    auditor = jwt.decode(shop.login(AUDITOR), shop.jwt_secret, algorithms=["HS256"])
    assert auditor["role"] == "auditor"


def test_bad_credentials_are_refused_and_bad_bodies_are_400(shop: RunningShop) -> None:
    wrong_password = shop.http.post("/auth/login", json={"email": TEST_USER, "password": "x"})
    unknown = shop.http.post(
        "/auth/login", json={"email": "nobody@example.com", "password": "password123"}
    )
    no_password = shop.http.post("/auth/login", json={"email": TEST_USER})

    for refused in (wrong_password, unknown):
        assert refused.status_code == 401
        assert refused.json() == {"error": "Invalid credentials"}
    assert no_password.status_code == 400
    assert "error" in no_password.json()


def test_the_seeded_admin_gets_a_token_with_role_admin(shop: RunningShop) -> None:
    claims = jwt.decode(shop.login(ADMIN), shop.jwt_secret, algorithms=["HS256"])

    assert claims["userId"] == USER_IDS[ADMIN]
    assert claims["email"] == ADMIN
    assert claims["role"] == "admin"
