"""The API gateway's `/payments/*` route: forwards to the payment service, prefix stripped.

A raw ASGI mount, so method, headers (Authorization, Stripe-Signature…), the
exact body bytes and the query reach the service untouched, as they would
through the real gateway; the answer comes back the same way.
"""

from __future__ import annotations

import logging

import httpx
from litestar.handlers import ASGIRouteHandler, asgi
from litestar.types import Receive, Scope, Send

from sandbox.shop.documents import encode

PREFIX = "/payments"

# Connection-level headers are the proxy's own business (RFC 9110 §7.6.1).
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
    }
)

log = logging.getLogger("sandbox.shop.gateway")


async def _read_body(receive: Receive) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def _upstream_path(scope: Scope) -> str:
    raw = scope.get("raw_path") or scope["path"].encode()
    path = raw.decode("latin-1")[len(PREFIX) :] if raw.startswith(PREFIX.encode()) else raw.decode()
    query = scope.get("query_string", b"").decode("latin-1")
    return (path or "/") + (f"?{query}" if query else "")


def _forwarded_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP]
    client = scope.get("client")
    if client:
        headers.append((b"x-forwarded-for", client[0].encode()))
    headers.append((b"x-forwarded-prefix", PREFIX.encode()))
    return headers


async def _reply(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def gateway_route(client: httpx.AsyncClient) -> ASGIRouteHandler:
    """`client` has the payment service as its base URL."""

    @asgi(PREFIX, is_mount=True, copy_scope=False)
    async def forward_to_payments(scope: Scope, receive: Receive, send: Send) -> None:
        request = client.build_request(
            str(scope.get("method", "GET")),
            _upstream_path(scope),
            headers=_forwarded_headers(scope),
            content=await _read_body(receive),
        )
        try:
            response = await client.send(request, stream=True)
            try:
                body = await response.aread()
            finally:
                await response.aclose()
        except httpx.TimeoutException:
            log.warning("payment service timed out on %s %s", request.method, request.url)
            await _reply(
                send,
                504,
                [(b"content-type", b"application/json")],
                encode({"error": "Payment service timed out"}),
            )
            return
        except httpx.TransportError as error:
            log.warning("payment service unreachable: %s", error)
            await _reply(
                send,
                502,
                [(b"content-type", b"application/json")],
                encode({"error": "Payment service unavailable"}),
            )
            return
        # httpx already decoded any content-encoding, so that header no longer applies.
        headers = [
            (k, v)
            for k, v in response.headers.raw
            if k.lower() not in HOP_BY_HOP and k.lower() != b"content-encoding"
        ]
        await _reply(send, response.status_code, headers, body)

    return forward_to_payments
