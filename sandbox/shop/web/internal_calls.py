"""Middleware on the internal endpoints: injects the configured faults and logs every call."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, HTTPRequestEvent, Message, Receive, ReceiveMessage, Scope, Send

from sandbox.shop.call_log import InternalCall
from sandbox.shop.documents import encode, order_document
from sandbox.shop.faults import Fault
from sandbox.shop.identifiers import utc_now
from sandbox.shop.malformed import malformed_body
from sandbox.shop.wiring import Shop

_JSON = [(b"content-type", b"application/json")]


@dataclass(slots=True)
class Answer:
    """A response held back, so a fault can replace or delay it before it is sent."""

    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)

    async def capture(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    async def send_to(self, send: Send) -> None:
        headers = [(k, v) for k, v in self.headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(self.body)).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": bytes(self.body), "more_body": False})


async def _read_body(receive: Receive) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that yields the already-read body once, then defers to the real one."""
    sent = False

    async def replay() -> ReceiveMessage:
        nonlocal sent
        if not sent:
            sent = True
            return HTTPRequestEvent(type="http.request", body=body, more_body=False)
        return await receive()

    return replay


def _order_id(scope: Scope, body: bytes) -> str | None:
    from_path = scope.get("path_params", {}).get("order_id")
    if from_path is not None:
        return str(from_path)
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    value = parsed.get("orderId") if isinstance(parsed, dict) else None
    return str(value) if value is not None else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class InternalCallMiddleware(ASGIMiddleware):
    """Stateless: routers deep-copy their middleware, so the shop is looked up per request."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        shop: Shop = scope["litestar_app"].state["shop"]
        body = await _read_body(receive)
        route = scope["route_handler"].name or scope["path"]
        fault = shop.faults.take(route)
        answer = Answer()
        if fault is None or fault.apply:
            await next_app(scope, _replaying(body, receive), answer.capture)
        order_id = _order_id(scope, body)
        if fault is not None:
            answer = await _faulty(shop, fault, route, order_id, answer)
        shop.calls.record(
            InternalCall(
                route=route,
                method=str(scope.get("method", "")),
                path=scope["path"],
                order_id=order_id,
                body=body.decode("utf-8", "replace"),
                idempotency_key=_header(scope, b"idempotency-key"),
                status=answer.status,
                fault=None if fault is None else f"{fault.mode}#{fault.id}",
                at=utc_now(),
            )
        )
        await answer.send_to(send)


async def _faulty(
    shop: Shop, fault: Fault, route: str, order_id: str | None, real: Answer
) -> Answer:
    if fault.mode == "delay":
        await asyncio.sleep(fault.delay)
        return real
    if fault.mode == "reply":
        headers = list(_JSON) if fault.body else []
        return Answer(fault.status, headers, bytearray(fault.body.encode()))
    if fault.mode == "malformed":
        order = shop.orders.find(order_id) if order_id else None
        document = order_document(order) if order is not None else None
        # Round-trip through JSON so decimals become plain numbers before corruption.
        plain = json.loads(encode(document)) if document is not None else None
        body = malformed_body(fault.variant, route, plain, order_id)
        return Answer(200, list(_JSON), bytearray(body))
    error = encode({"error": f"Injected fault: HTTP {fault.status}"})
    return Answer(fault.status, list(_JSON), bytearray(error))
