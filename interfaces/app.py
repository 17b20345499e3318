"""The Litestar application: routes under `/payments` and at the root, auth, errors, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.types import ControllerRouterHandler

from infrastructure.settings import DEFAULT_CREATE_SESSION_RATE_LIMIT
from interfaces.auth import jwt_auth
from interfaces.composition import Services
from interfaces.controllers.health import HealthController
from interfaces.controllers.history import HistoryController
from interfaces.controllers.payments import PaymentsController
from interfaces.controllers.webhook import WebhookController
from interfaces.errors import handle_error
from interfaces.lifecycle import running
from interfaces.metrics_endpoint import metrics_controller, request_metrics
from interfaces.rate_limit import per_user_rate_limit

# The gateway strips `/payments`, Stripe CLI posts to `/webhook`: serve both forms.
PREFIXES = ("/payments", "/")
# One line per controller; each is mounted under every prefix.
PAYMENT_CONTROLLERS: list[ControllerRouterHandler] = [
    PaymentsController,
    WebhookController,
    HistoryController,
]


def create_app(
    services: Services, *, create_session_rate_limit: int = DEFAULT_CREATE_SESSION_RATE_LIMIT
) -> Litestar:
    """The HTTP app over `services`; the lifespan starts and stops its workers.

    `create_session_rate_limit` is create-session calls per user per minute.
    """
    routers = [Router(path=prefix, route_handlers=PAYMENT_CONTROLLERS) for prefix in PREFIXES]
    return Litestar(
        route_handlers=[*routers, HealthController, metrics_controller(services.metrics.registry)],
        dependencies={"services": Provide(lambda: services, sync_to_thread=False)},
        # The JWT middleware inserts itself first, so the rate limit sees the caller; the
        # request metrics then go in front of it, so they count its refusals too.
        on_app_init=[
            jwt_auth(services.jwt_secret).on_app_init,
            request_metrics(services.metrics.http),
        ],
        middleware=[per_user_rate_limit(create_session_rate_limit).middleware],
        exception_handlers={Exception: handle_error},
        lifespan=[_lifespan(services)],
        openapi_config=OpenAPIConfig(title="Payment service", version="1.0.0"),
        debug=False,
        # Logging is configured once by the process (JSON lines), not by Litestar.
        logging_config=None,
    )


def _lifespan(services: Services):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with running(services):
            yield

    return lifespan
