"""The Litestar application: routes under `/payments` and at the root, auth, errors, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.types import ControllerRouterHandler

from interfaces.auth import jwt_auth
from interfaces.composition import ServiceGraph
from interfaces.controllers.health import HealthController
from interfaces.controllers.history import HistoryController
from interfaces.controllers.payments import PaymentsController
from interfaces.controllers.refunds import RefundsController
from interfaces.controllers.webhook import WebhookController, WebhookIntake
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
    RefundsController,
]


def create_app(graph: ServiceGraph, *, create_session_rate_limit: int | None = None) -> Litestar:
    """The HTTP app over `graph`; the lifespan starts and stops the graph's workers.

    `create_session_rate_limit` is create-session calls per user per minute (default:
    the settings').
    """
    routers = [Router(path=prefix, route_handlers=PAYMENT_CONTROLLERS) for prefix in PREFIXES]
    rate_limit = create_session_rate_limit
    if rate_limit is None:
        rate_limit = graph.settings.create_session_rate_limit
    metrics = graph.metrics
    # Each handler names what it needs; nothing is handed a bag of everything.
    needed = {
        "create_checkout_session": graph.create_checkout_session,
        "get_payment_status": graph.get_payment_status,
        "get_payment_history": graph.get_payment_history,
        "request_refund": graph.request_refund,
        "webhook_intake": WebhookIntake(graph.webhook_signature, graph.apply_stripe_event, metrics),
        "probes": graph.probes,
    }
    return Litestar(
        route_handlers=[*routers, HealthController, metrics_controller(metrics.registry)],
        dependencies={name: _given(part) for name, part in needed.items()},
        # The JWT middleware inserts itself first, so the rate limit sees the caller; the
        # request metrics then go in front of it, so they count its refusals too.
        on_app_init=[
            jwt_auth(graph.settings.jwt_secret).on_app_init,
            request_metrics(metrics.http),
        ],
        middleware=[per_user_rate_limit(rate_limit).middleware],
        exception_handlers={Exception: handle_error},
        lifespan=[_lifespan(graph)],
        openapi_config=OpenAPIConfig(title="Payment service", version="1.0.0"),
        debug=False,
        # Logging is configured once by the process (JSON lines), not by Litestar.
        logging_config=None,
    )


def _given(part: object) -> Provide:
    return Provide(_constant(part), sync_to_thread=False)


def _constant(part: object) -> Callable[[], object]:
    return lambda: part


def _lifespan(graph: ServiceGraph):  # type: ignore[no-untyped-def]
    # The workers are built here, with the app, so `/metrics` has their readings from the start.
    workers = graph.workers

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with running(graph, workers):
            yield

    return lifespan
