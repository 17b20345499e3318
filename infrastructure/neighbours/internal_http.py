"""The HTTP client the payment service uses for its neighbours' internal endpoints.

One `httpx.AsyncClient` per neighbour: a fixed base URL, redirects never followed
(a redirect could carry the internal token elsewhere), connect and read timeouts,
and the internal-call headers of DESIGN.md "Outbound contracts".

What a neighbour answers is bounded too: a call never takes longer than its
timeout in all (httpx's read timeout is per read, so an answer trickled a byte at
a time would never trip it), and an answer body over `MAX_REPLY_BYTES` is refused
as it streams in, not after it has been held in memory.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from application.errors import ServiceRejected
from domain.errors import PaymentError

log = logging.getLogger(__name__)

INTERNAL_CALLER = "payment-service"
CONNECT_TIMEOUT_SECONDS = 2.0
# An order of a few hundred lines is tens of KiB; a release answer is a line.
MAX_REPLY_BYTES = 1024 * 1024


class ReplyTooLarge(Exception):
    """A neighbour's answer body is over `MAX_REPLY_BYTES`."""


def internal_client(
    base_url: str, internal_token: str | None, timeout_seconds: float
) -> httpx.AsyncClient:
    headers = {
        "X-Internal-Service": INTERNAL_CALLER,
        "Accept": "application/json",
        # The body limit counts what we hold; a compressed answer could expand past it
        # in one piece before it is counted.
        "Accept-Encoding": "identity",
    }
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
        async with asyncio.timeout(_whole_call_seconds(client)):
            response = await _bounded_exchange(
                client, client.build_request(method, path, **request)
            )
    except (httpx.HTTPError, TimeoutError, ReplyTooLarge) as error:
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


def _whole_call_seconds(client: httpx.AsyncClient) -> float:
    """Connecting, then the whole answer: each within the client's own timeouts."""
    timeout = client.timeout
    return (timeout.connect or 0.0) + (timeout.read or 0.0)


async def _bounded_exchange(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """Sends `request` and reads at most `MAX_REPLY_BYTES` of the answer's body."""
    response = await client.send(request, stream=True)
    try:
        announced = response.headers.get("content-length", "")
        if announced.isdigit() and int(announced) > MAX_REPLY_BYTES:
            raise ReplyTooLarge(f"{announced} bytes announced")
        body = bytearray()
        async for piece in response.aiter_bytes():
            body += piece
            if len(body) > MAX_REPLY_BYTES:
                raise ReplyTooLarge(f"over {MAX_REPLY_BYTES} bytes")
    finally:
        await response.aclose()
    # The body as read; its framing headers described the bytes on the wire, not these.
    framing = {"content-length", "content-encoding", "transfer-encoding"}
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in framing]
    return httpx.Response(
        response.status_code, headers=headers, content=bytes(body), request=request
    )


def rejected(response: httpx.Response, log_extra: dict[str, Any]) -> ServiceRejected:
    """A 4xx that retrying will not change (wrong token, conflicting state…)."""
    request = response.request
    log.error(
        "internal call rejected with %s",
        response.status_code,
        extra={**log_extra, "path": request.url.path, "httpStatus": response.status_code},
    )
    return ServiceRejected(f"{request.method} {request.url.path}: HTTP {response.status_code}")
