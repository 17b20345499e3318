"""The shop's errors; each carries the HTTP status it is answered with (mapped in web.errors)."""

from __future__ import annotations


class ShopError(Exception):
    """A request the shop refuses; `str(error)` is the client-facing message."""

    status = 500


class BadRequest(ShopError):
    status = 400


class Unauthorized(ShopError):
    status = 401


class Forbidden(ShopError):
    status = 403


class NotFound(ShopError):
    status = 404


class Conflict(ShopError):
    status = 409
