"""The HTTP client the payment service uses for its neighbours' internal endpoints.

One `httpx.AsyncClient` per neighbour: a fixed base URL, redirects never followed
(a redirect could carry the internal token elsewhere), connect and read timeouts,
and the internal-call headers of DESIGN.md "Outbound contracts".
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from application.errors import ServiceRejected
from domain.errors import PaymentError

log = logging.getLogger(__name__)

INTERNAL_CALLER = "payment-service"
CONNECT_TIMEOUT_SECONDS = 2.0


def internal_client(
    base_url: str, internal_token: str | None, timeout_seconds: float
) -> httpx.AsyncClient:
    headers = {"X-Internal-Service": INTERNAL_CALLER, "Accept": "application/json"}
    if internal_token:
        headers["Authorization"] = f"Bearer {internal_token}"
    timeout = httpx.Timeout(timeout_seconds, connect=min(CONNECT_TIMEOUT_SECONDS, timeout_seconds))
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/"),
        headers=headers,
        timeout=timeout,
        follow_redirects=False,
        # Neighbours are reached directly: no proxy from the environment sees the token.
        trust_env=False,
    )


async def call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    unavailable: type[PaymentError],
    log_extra: dict[str, Any],
    **request: Any,
) -> httpx.Response:
    """Sends one request; transport failures and 5xx raise `unavailable`.

    A 3xx is also `unavailable` (we never follow it); other 4xx are returned to
    the caller, which decides what they mean for its route.
    """
    try:
        response = await client.request(method, path, **request)
    except httpx.HTTPError as error:
        log.warning(
            "internal call failed: %s",
            type(error).__name__,
            extra={**log_extra, "path": path},
        )
        raise unavailable(f"{method} {path}: {type(error).__name__}") from error
    if response.status_code >= 500 or 300 <= response.status_code < 400:
        log.warning(
            "internal call answered %s",
            response.status_code,
            extra={**log_extra, "path": path, "httpStatus": response.status_code},
        )
        raise unavailable(f"{method} {path}: HTTP {response.status_code}")
    return response


def rejected(response: httpx.Response, log_extra: dict[str, Any]) -> ServiceRejected:
    """A 4xx that retrying will not change (wrong token, conflicting state…)."""
    request = response.request
    log.error(
        "internal call rejected with %s",
        response.status_code,
        extra={**log_extra, "path": request.url.path, "httpStatus": response.status_code},
    )
    return ServiceRejected(f"{request.method} {request.url.path}: HTTP {response.status_code}")
