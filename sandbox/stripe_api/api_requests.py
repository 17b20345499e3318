"""Reading Stripe-style requests and writing Stripe-style responses."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response

from sandbox.stripe_api.errors import StripeApiError
from sandbox.stripe_api.events import RequestOrigin
from sandbox.stripe_api.form_params import decode_query
from sandbox.stripe_api.idempotency import ApiResult, Call
from sandbox.stripe_api.ids import new_id
from sandbox.stripe_api.state import Sandbox

AnyRequest = Request[Any, Any, Any]


def request_id(request: AnyRequest) -> str:
    """This request's `req_…` id, made on first use (the `Request-Id` header)."""
    state = request.state
    if "request_id" not in state:
        state["request_id"] = new_id("req", 14)
    return str(state["request_id"])


def origin(request: AnyRequest) -> RequestOrigin:
    return RequestOrigin(request_id(request), request.headers.get("idempotency-key"))


async def form_params(request: AnyRequest) -> dict[str, Any]:
    body = await request.body()
    return decode_query(body.decode("utf-8", errors="replace"))


def query_params(request: AnyRequest) -> dict[str, Any]:
    return decode_query(request.scope.get("query_string", b"").decode("utf-8", errors="replace"))


def page_base(sandbox: Sandbox, request: AnyRequest) -> str:
    """Where customers reach the hosted pages: `--public-url`, else how we were called."""
    return (sandbox.config.public_url or str(request.base_url)).rstrip("/")


def stripe_response(request: AnyRequest, result: ApiResult) -> Response[bytes]:
    headers = {"Request-Id": request_id(request), **result.headers}
    # Stripe pretty-prints its JSON; clients must not depend on the formatting.
    return Response(
        json.dumps(result.body, indent=2).encode(),
        status_code=result.status,
        headers=headers,
        media_type="application/json",
    )


def error_response(request: AnyRequest, error: StripeApiError) -> Response[bytes]:
    return stripe_response(request, ApiResult(error.status, error.body(), error.headers))


async def idempotent_post(
    sandbox: Sandbox,
    request: AnyRequest,
    params: dict[str, Any],
    operation: Callable[[], Awaitable[dict[str, Any]]],
) -> Response[bytes]:
    """Run a POST under its `Idempotency-Key` and answer it (or its replay)."""

    async def run() -> ApiResult:
        return ApiResult(200, await operation())

    call = Call(
        request.headers.get("idempotency-key"),
        request.method,
        request.url.path,
        params,
        request_id(request),
    )
    return stripe_response(request, await sandbox.idempotency.run(call, run))


def ok(request: AnyRequest, body: dict[str, Any]) -> Response[bytes]:
    return stripe_response(request, ApiResult(200, body))
