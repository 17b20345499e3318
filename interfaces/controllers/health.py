"""`GET /health` (the process answers) and `GET /ready` (its dependencies answer too)."""

from __future__ import annotations

import asyncio
import logging

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import SkipValidation

from interfaces.api_document import PublicOperation
from interfaces.composition import ReadinessProbe

log = logging.getLogger(__name__)
PROBE_TIMEOUT_SECONDS = 3.0
FAILED = "unavailable"


class HealthBody(msgspec.Struct):
    status: str


class ReadinessBody(msgspec.Struct, omit_defaults=True):
    status: str
    checks: dict[str, str]
    error: str | None = None


class HealthController(Controller):
    """Liveness and readiness for the orchestrator; no authentication."""

    tags = ["health"]

    @get("/health", exclude_from_auth=True, operation_class=PublicOperation)
    async def health(self) -> HealthBody:
        """The process is up and serving requests."""
        return HealthBody(status="ok")

    @get(
        "/ready",
        exclude_from_auth=True,
        operation_class=PublicOperation,
        responses={
            503: ResponseSpec(
                data_container=ReadinessBody,
                description="Not ready: `error` names the failing dependencies",
                generate_examples=False,
            )
        },
    )
    async def ready(
        self, probes: NamedDependency[SkipValidation[list[ReadinessProbe]]]
    ) -> Response[ReadinessBody]:
        """503 naming the failing dependency; a dependency not configured is not a failure."""
        results = await asyncio.gather(*(_run(probe) for probe in probes))
        checks = {probe.name: result for probe, result in zip(probes, results, strict=True)}
        failing = [name for name, result in checks.items() if result == FAILED]
        if failing:
            body = ReadinessBody("not ready", checks, f"{', '.join(failing)} {FAILED}")
            return Response(body, status_code=503)
        return Response(ReadinessBody("ready", checks))


async def _run(probe: ReadinessProbe) -> str:
    try:
        return await asyncio.wait_for(probe.check(), PROBE_TIMEOUT_SECONDS)
    except Exception as error:
        log.warning(
            "readiness check failed",
            extra={"dependency": probe.name, "errorType": type(error).__name__},
        )
        return FAILED
