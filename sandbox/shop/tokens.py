"""The auth service's JWTs: HS256, claims `userId`, `email`, `role`, `iat`, `exp`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a valid token says is calling."""

    user_id: str
    email: str
    role: str


class InvalidToken(Exception):
    """The token is missing a claim, expired, or not signed with our secret."""


def issue_token(caller: Caller, secret: str, lifetime: timedelta) -> str:
    now = datetime.now(UTC)
    claims = {
        "userId": caller.user_id,
        "email": caller.email,
        "role": caller.role,
        "iat": now,
        "exp": now + lifetime,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def read_token(token: str, secret: str) -> Caller:
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["exp", "userId"]}
        )
    except jwt.PyJWTError as error:
        raise InvalidToken(str(error)) from error
    return Caller(
        user_id=str(claims["userId"]),
        email=str(claims.get("email", "")),
        role=str(claims.get("role", "user")),
    )
