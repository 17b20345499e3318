"""The HTTP client the payment service uses for its neighbours' internal endpoints.

One aiohttp session per neighbour (ADR 0018: httpx's pool cost several times the
CPU of the call itself under the effect workers' concurrency): a fixed base URL,
redirects never followed (a redirect could carry the internal token elsewhere),
no proxy from the environment, a connect timeout and a deadline for the whole
call, and the internal-call headers of DESIGN.md "Outbound contracts".

What a neighbour answers is bounded too: a call never takes longer than its
timeout in all (an answer trickled a byte at a time cannot hold it), and an
answer body over `MAX_REPLY_BYTES` is refused as it streams in, not after it has
been held in memory.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import msgspec

from application.errors import ServiceRejected
from domain.errors import PaymentError

log = logging.getLogger(__name__)

INTERNAL_CALLER = "payment-service"
CONNECT_TIMEOUT_SECONDS = 2.0
# An order of a few hundred lines is tens of KiB; a release answer is a line.
MAX_REPLY_BYTES = 1024 * 1024
READ_CHUNK = 64 * 1024


class ReplyTooLarge(Exception):
    """A neighbour's answer body is over `MAX_REPLY_BYTES`."""


class NeighbourReply(msgspec.Struct, frozen=True):
    """A neighbour's answer, its body read in full (and bounded)."""

    method: str
    path: str
    status_code: int
    content: bytes


class NeighbourConnection:
    """The session to one neighbour, opened on first use (it belongs to the running loop)."""

    def __init__(self, base_url: str, internal_token: str | None, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {
            "X-Internal-Service": INTERNAL_CALLER,
            "Accept": "application/json",
            # The body limit counts what we hold; a compressed answer could expand past it
            # in one piece before it is counted.
            "Accept-Encoding": "identity",
        }
        if internal_token:
            self.headers["Authorization"] = f"Bearer {internal_token}"
        self.connect_seconds = min(CONNECT_TIMEOUT_SECONDS, timeout_seconds)
        self.whole_call_seconds = self.connect_seconds + timeout_seconds
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self.headers,
                timeout=aiohttp.ClientTimeout(
                    total=self.whole_call_seconds, sock_connect=self.connect_seconds
                ),
                auto_decompress=False,
                # Neighbours are reached directly: no proxy from the environment sees the token.
                trust_env=False,
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class NeighbourClient:
    """Base of the adapters for a neighbour's internal endpoints: one connection each,
    closed with the adapter."""

    def __init__(
        self,
        base_url: str,
        *,
        internal_token: str | None = None,
        timeout_seconds: float = 5.0,
    ) -> None:
        self._client = NeighbourConnection(base_url, internal_token, timeout_seconds)

    async def aclose(self) -> None:
        await self._client.aclose()


async def call(
    client: NeighbourConnection,
    method: str,
    path: str,
    *,
    unavailable: type[PaymentError],
    log_extra: dict[str, Any],
    json: Any = None,
    headers: dict[str, str] | None = None,
) -> NeighbourReply:
    """Sends one request; transport failures and 5xx raise `unavailable`.

    A 3xx is also `unavailable` (we never follow it); other 4xx are returned to
    the caller, which decides what they mean for its route.
    """
    try:
        async with asyncio.timeout(client.whole_call_seconds):
            reply = await _bounded_exchange(client, method, path, json, headers)
    except (aiohttp.ClientError, TimeoutError, ReplyTooLarge) as error:
        log.warning(
            "internal call failed: %s",
            type(error).__name__,
            extra={**log_extra, "path": path},
        )
        raise unavailable(f"{method} {path}: {type(error).__name__}") from error
    if reply.status_code >= 500 or 300 <= reply.status_code < 400:
        log.warning(
            "internal call answered %s",
            reply.status_code,
            extra={**log_extra, "path": path, "httpStatus": reply.status_code},
        )
        raise unavailable(f"{method} {path}: HTTP {reply.status_code}")
    return reply


async def _bounded_exchange(
    client: NeighbourConnection,
    method: str,
    path: str,
    json_body: Any,
    headers: dict[str, str] | None,
) -> NeighbourReply:
    """Sends the request and reads at most `MAX_REPLY_BYTES` of the answer's body."""
    data = None if json_body is None else msgspec.json.encode(json_body)
    request_headers = dict(headers or {})
    if data is not None:
        request_headers["Content-Type"] = "application/json"
    async with client.session().request(
        method,
        client.base_url + path,
        data=data,
        headers=request_headers,
        allow_redirects=False,
    ) as response:
        announced = response.content_length
        if announced is not None and announced > MAX_REPLY_BYTES:
            raise ReplyTooLarge(f"{announced} bytes announced")
        body = bytearray()
        while piece := await response.content.read(READ_CHUNK):
            body += piece
            if len(body) > MAX_REPLY_BYTES:
                raise ReplyTooLarge(f"over {MAX_REPLY_BYTES} bytes")
        return NeighbourReply(method, path, response.status, bytes(body))


def rejected(reply: NeighbourReply, log_extra: dict[str, Any]) -> ServiceRejected:
    """A 4xx that retrying will not change (wrong token, conflicting state…)."""
    log.error(
        "internal call rejected with %s",
        reply.status_code,
        extra={**log_extra, "path": reply.path, "httpStatus": reply.status_code},
    )
    return ServiceRejected(f"{reply.method} {reply.path}: HTTP {reply.status_code}")
