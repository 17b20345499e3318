"""The Litestar application: Stripe's `/v1` API, the hosted pages and `/_sandbox` controls."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, Request, Response, Router
from litestar.di import Provide
from litestar.exceptions import MethodNotAllowedException, NotFoundException

from sandbox.stripe_api import (
    admin_charge_routes,
    admin_routes,
    api_charges,
    api_checkout,
    api_events,
    api_payments,
    hosted_routes,
)
from sandbox.stripe_api.api_keys import check_api_key
from sandbox.stripe_api.api_requests import AnyRequest, error_response
from sandbox.stripe_api.delivery import WebhookDeliverer
from sandbox.stripe_api.errors import StripeApiError
from sandbox.stripe_api.expiry import sweep_forever
from sandbox.stripe_api.state import Sandbox


def build_app(sandbox: Sandbox) -> Litestar:
    async def require_api_key(request: AnyRequest) -> None:
        check_api_key(request.headers.get("authorization"), sandbox.config.api_key)

    async def provide_sandbox() -> Sandbox:
        return sandbox

    api = Router(
        "/",
        before_request=require_api_key,
        route_handlers=[
            *api_checkout.ROUTES,
            *api_events.ROUTES,
            *api_payments.ROUTES,
            *api_charges.ROUTES,
        ],
    )
    return Litestar(
        route_handlers=[
            api,
            *hosted_routes.ROUTES,
            *admin_routes.ROUTES,
            *admin_charge_routes.ROUTES,
        ],
        dependencies={"sandbox": Provide(provide_sandbox)},
        exception_handlers={
            StripeApiError: _stripe_error,
            NotFoundException: _unrecognized_url,
            MethodNotAllowedException: _unrecognized_url,
        },
        lifespan=[lambda app: _background_work(sandbox)],
        openapi_config=None,
    )


@contextlib.asynccontextmanager
async def _background_work(sandbox: Sandbox) -> AsyncIterator[None]:
    """Expiry and webhook delivery run beside the requests, never inside them."""
    tasks = [
        asyncio.create_task(sweep_forever(sandbox)),
        asyncio.create_task(WebhookDeliverer(sandbox).run()),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _stripe_error(request: Request[Any, Any, Any], error: Exception) -> Response[bytes]:
    assert isinstance(error, StripeApiError)
    return error_response(request, error)


def _unrecognized_url(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    path = request.url.path
    if not path.startswith("/v1/"):
        status = 405 if isinstance(error, MethodNotAllowedException) else 404
        return Response({"error": str(error)}, status_code=status)
    message = f"Unrecognized request URL ({request.method}: {path})."
    return error_response(request, StripeApiError(404, "invalid_request_error", message))
