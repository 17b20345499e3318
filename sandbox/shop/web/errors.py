"""One place that maps every failure to the shop's `{"error": "…"}` JSON."""

from __future__ import annotations

import logging

from litestar import Response
from litestar.exceptions import HTTPException
from litestar.types import ExceptionHandlersMap

from sandbox.shop.errors import ShopError
from sandbox.shop.web.replies import AnyRequest, error_reply

log = logging.getLogger("sandbox.shop")


def _shop_error(_: AnyRequest, error: ShopError) -> Response[bytes]:
    return error_reply(str(error), error.status)


def _http_error(_: AnyRequest, error: HTTPException) -> Response[bytes]:
    message = "Not found" if error.status_code == 404 else str(error.detail)
    return error_reply(message, error.status_code)


def _crash(request: AnyRequest, error: Exception) -> Response[bytes]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return error_reply("Internal server error", 500)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ShopError: _shop_error,
    HTTPException: _http_error,
    Exception: _crash,
}
