"""The auth service's route, and the Bearer-JWT check the customer routes share."""

from __future__ import annotations

import msgspec
from litestar import Response, post

from sandbox.shop.errors import Unauthorized
from sandbox.shop.tokens import Caller, InvalidToken, read_token
from sandbox.shop.web.replies import AnyRequest, decode_body, json_reply
from sandbox.shop.wiring import Shop


class Credentials(msgspec.Struct):
    email: str
    password: str


@post("/auth/login", status_code=200)
async def login(request: AnyRequest, shop: Shop) -> Response[bytes]:
    credentials = decode_body(await request.body(), Credentials)
    token = shop.accounts.login(credentials.email, credentials.password)
    return json_reply({"token": token})


def bearer_caller(request: AnyRequest, shop: Shop) -> Caller:
    """The customer behind the request's `Authorization: Bearer <jwt>`, or a 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authentication required")
    try:
        return read_token(token.strip(), shop.settings.jwt_secret)
    except InvalidToken as error:
        raise Unauthorized("Invalid token") from error
