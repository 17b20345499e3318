"""Building JSON answers and reading JSON requests, with the shop's `{"error": …}` shape."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Request, Response

from sandbox.shop.documents import encode
from sandbox.shop.errors import BadRequest

T = TypeVar("T")

# The shop keeps no per-user or per-app state types, so any request will do.
AnyRequest = Request[Any, Any, Any]


def json_reply(
    document: object, status: int = 200, headers: dict[str, str] | None = None
) -> Response[bytes]:
    return Response(
        content=encode(document),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def error_reply(message: str, status: int) -> Response[bytes]:
    return json_reply({"error": message}, status)


def decode_body(raw: bytes, shape: type[T]) -> T:
    """Decode and validate a JSON body; anything off is a 400 naming the problem."""
    try:
        return msgspec.json.decode(raw or b"null", type=shape)
    except msgspec.DecodeError as error:
        raise BadRequest(f"Invalid request body: {error}") from error
