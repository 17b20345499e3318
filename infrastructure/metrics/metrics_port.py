"""A process without HTTP (`payments worker`) serves its metrics on a port of its own."""

from __future__ import annotations

import asyncio
import logging
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

log = logging.getLogger(__name__)


class MetricsPort:
    """prometheus_client's HTTP server on `port` (any path answers the metrics), as a
    background worker of the process.

    A port that cannot be bound is an alert, not a reason to stop: the worker's job
    is settling payments, and Prometheus sees the target down (`up == 0`) anyway.
    """

    def __init__(self, registry: CollectorRegistry, port: int, host: str = "0.0.0.0") -> None:  # noqa: S104
        self._registry = registry
        self.port = port
        self._host = host
        self._server: WSGIServer | None = None

    async def start(self) -> None:
        try:
            self._server, _ = start_http_server(self.port, self._host, self._registry)
        except OSError as error:
            log.error(
                "cannot serve metrics on METRICS_PORT; running without them",
                extra={"port": self.port, "error": str(error), "alert": True},
            )
            return
        log.info("serving metrics", extra={"port": self.port})

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await asyncio.to_thread(server.shutdown)
            server.server_close()
