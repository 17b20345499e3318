"""Bearer JWT authentication: Litestar's JWT middleware with the auth service's tokens.

The auth service signs HS256 tokens with `JWT_SECRET` and puts the user id in
`userId`, `id` or `sub`; Litestar's own `Token` insists on `sub`, so the token
class below reads the id from whichever claim is present.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Self

import jwt
from litestar.connection import ASGIConnection
from litestar.exceptions import ImproperlyConfiguredException, NotAuthorizedException
from litestar.middleware.authentication import AuthenticationResult
from litestar.security.jwt import JWTAuth, JWTAuthenticationMiddleware, Token

from application.identity import Caller

ALGORITHM = "HS256"
# Only HMAC-SHA256: `none` and asymmetric algorithms (RS/HS key confusion) are refused.
ALLOWED_ALGORITHMS = [ALGORITHM]
USER_ID_CLAIMS = ("userId", "id", "sub")
# PyJWT reads these with int(), so "9999999999" passes its checks; a NumericDate is a number.
NUMERIC_DATE_CLAIMS = ("exp", "nbf", "iat")
TEXT_CLAIMS = ("email", "role")
BEARER = "bearer"
# The auth service's tokens are a few hundred bytes; a bigger one is not one of them.
MAX_TOKEN_BYTES = 8 * 1024


class CallerToken(Token):
    """A verified token of the auth service; `sub` holds the user id whatever claim carried it."""

    @classmethod
    def decode(  # type: ignore[override]
        cls, encoded_token: str, secret: str, algorithm: str, **_: Any
    ) -> Self:
        try:
            claims: dict[str, Any] = jwt.decode(
                encoded_token,
                secret,
                algorithms=ALLOWED_ALGORITHMS,
                options={"require": ["exp"]},
            )
        except jwt.InvalidTokenError as error:
            raise NotAuthorizedException("Invalid token") from error
        problem = mistyped_claim(claims)
        if problem:
            raise NotAuthorizedException(f"Claim {problem} has the wrong type")
        user_id = user_id_of(claims)
        if not user_id:
            raise NotAuthorizedException("Token names no user")
        try:
            return cls(
                exp=datetime.fromtimestamp(claims["exp"], tz=UTC),
                sub=user_id,
                extras={"email": claims.get("email"), "role": claims.get("role")},
            )
        except (OverflowError, OSError, ValueError, ImproperlyConfiguredException) as error:
            # An `exp` too far out for a datetime is as unusable as a bad signature.
            raise NotAuthorizedException("Unusable expiry") from error


def mistyped_claim(claims: dict[str, Any]) -> str | None:
    """The first claim the service reads whose value has the wrong type, if any."""
    for claim in NUMERIC_DATE_CLAIMS:
        value = claims.get(claim)
        if claim in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
            return claim
    for claim in TEXT_CLAIMS:
        if claims.get(claim) is not None and not isinstance(claims[claim], str):
            return claim
    return None


def user_id_of(claims: dict[str, Any]) -> str:
    """The first of `userId`, `id`, `sub` that holds an id: a non-blank string or an integer.

    A boolean is not an id (`true` would become user "True"), and a blank claim must not
    hide a valid one after it.
    """
    for claim in USER_ID_CLAIMS:
        value = claims.get(claim)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value.strip():
            return value
    return ""


class BearerJWTMiddleware(JWTAuthenticationMiddleware):
    """Accepts only `Authorization: Bearer <token>` (Litestar takes any scheme word)."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        scheme, _, token = connection.headers.get(self.auth_header, "").partition(" ")
        if scheme.lower() != BEARER or not token.strip():
            raise NotAuthorizedException("Bearer token required")
        if len(token) > MAX_TOKEN_BYTES:
            raise NotAuthorizedException("Token too large")
        return await self.authenticate_token(encoded_token=token.strip(), connection=connection)


async def caller_of(token: CallerToken, _: ASGIConnection[Any, Any, Any, Any]) -> Caller:
    email, role = token.extras.get("email"), token.extras.get("role")
    return Caller(
        user_id=token.sub,
        email=email if isinstance(email, str) else "",
        role=role if isinstance(role, str) and role else "user",
    )


def jwt_auth(secret: str) -> JWTAuth[Caller, CallerToken]:
    """Routes opt out with `exclude_from_auth=True` (webhook, health, schema)."""
    return JWTAuth[Caller, CallerToken](
        token_secret=secret,
        algorithm=ALGORITHM,
        retrieve_user_handler=caller_of,
        token_cls=CallerToken,
        authentication_middleware_class=BearerJWTMiddleware,
        exclude=["^/schema"],
    )
