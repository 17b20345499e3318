"""`GET /metrics` and the HTTP request metrics, over the process's own registry.

Litestar's Prometheus plugin (`litestar.plugins.prometheus`) measures the requests,
with two changes: its instruments are the process's (`HttpRequestMetrics`), not
class-level ones in prometheus_client's global registry; and it sits outside the
JWT middleware with Litestar's exception handling inside it, so a request refused
by authentication is counted with its 401. Paths are route templates
(`/payments/status/{orderId}`), never one series per order.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Request, Response, get
from litestar._asgi.utils import wrap_in_exception_handler
from litestar.config.app import AppConfig
from litestar.middleware.base import DefineMiddleware
from litestar.plugins.prometheus import PrometheusConfig, PrometheusMiddleware
from litestar.types import ASGIApp
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

from infrastructure.metrics.instruments import HttpRequestMetrics

APP_NAME = "payment-service"


class _RequestMetrics(PrometheusMiddleware):
    def __init__(self, app: ASGIApp, config: PrometheusConfig, metrics: HttpRequestMetrics) -> None:
        # An exception raised by a middleware inside this one (the JWT check) becomes its
        # answer here, so the status counted is the one sent (Litestar does the same for
        # the exceptions of handlers, in front of every route's middleware).
        super().__init__(wrap_in_exception_handler(app), config)
        self._instruments = metrics

    def request_count(self, labels: dict[str, Any]) -> Counter:
        return self._instruments.requests

    def request_time(self, labels: dict[str, Any]) -> Histogram:
        return self._instruments.duration

    def requests_in_progress(self, labels: dict[str, Any]) -> Gauge:
        return self._instruments.in_progress

    def requests_error_count(self, labels: dict[str, Any]) -> Counter:
        return self._instruments.errors


def request_metrics(metrics: HttpRequestMetrics) -> Any:
    """An `on_app_init` hook putting the request metrics in front of every other middleware."""
    config = PrometheusConfig(
        app_name=APP_NAME, group_path=True, exclude=[r"^/metrics$"], exclude_opt_key="no_metrics"
    )
    middleware = DefineMiddleware(_RequestMetrics, config=config, metrics=metrics)

    def on_app_init(app_config: AppConfig) -> AppConfig:
        app_config.middleware.insert(0, middleware)
        return app_config

    return on_app_init


def metrics_controller(registry: CollectorRegistry) -> type[Controller]:
    """`GET /metrics` in the format the scraper accepts (Prometheus's text format 0.0.4 by
    default); the scrape-time readings run off the event loop."""

    class MetricsController(Controller):
        """For Prometheus; bind it privately (no authentication)."""

        @get("/metrics", exclude_from_auth=True, include_in_schema=False)
        async def metrics(self, request: Request[Any, Any, Any]) -> Response[bytes]:
            encode, content_type = choose_encoder(request.headers.get("accept", ""))
            body = await asyncio.to_thread(encode, registry)
            # Litestar adds the charset of a text answer itself.
            return Response(body, media_type=content_type.replace("; charset=utf-8", ""))

    return MetricsController
