"""The internal endpoints the payment service calls (DESIGN.md "Outbound contracts")."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

import msgspec
from litestar import Response, Router, get, patch, post
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from sandbox.shop.documents import order_document
from sandbox.shop.errors import BadRequest, Forbidden
from sandbox.shop.web.internal_calls import InternalCallMiddleware
from sandbox.shop.web.replies import AnyRequest, decode_body, json_reply
from sandbox.shop.wiring import Shop

INTERNAL_CALLER = "payment-service"


class StatusChange(msgspec.Struct):
    status: str


class ReleaseRequest(msgspec.Struct, rename="camel"):
    product_id: Annotated[str, msgspec.Meta(min_length=1)]
    quantity: Annotated[int, msgspec.Meta(ge=1)]
    order_id: Annotated[str, msgspec.Meta(min_length=1)]


def internal_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: the internal-service header, and the shared token when the shop has one."""
    shop: Shop = connection.app.state["shop"]
    if connection.headers.get("x-internal-service") != INTERNAL_CALLER:
        raise Forbidden("Forbidden")
    expected = shop.settings.internal_token
    if expected is not None:
        given = connection.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            raise Forbidden("Forbidden")


@get("/orders/{order_id:str}", name="order_get")
async def get_order(shop: Shop, order_id: str) -> Response[bytes]:
    return json_reply({"order": order_document(shop.orders.get(order_id))})


@patch("/orders/{order_id:str}/status", name="order_status")
async def set_status(request: AnyRequest, shop: Shop, order_id: str) -> Response[bytes]:
    change = decode_body(await request.body(), StatusChange)
    order, _ = shop.orders.set_status(order_id, change.status)
    return json_reply({"order": order_document(order)})


@post("/inventory/release", name="release", status_code=200)
async def release(request: AnyRequest, shop: Shop) -> Response[bytes]:
    key = request.headers.get("idempotency-key", "").strip()
    if not key:
        raise BadRequest("Idempotency-Key header is required")
    wanted = decode_body(await request.body(), ReleaseRequest)
    done = shop.inventory.release(wanted.order_id, wanted.product_id, wanted.quantity, key)
    document = {"orderId": done.order_id, "productId": done.product_id, "released": done.released}
    # Like Stripe, a replayed answer says so in a header and keeps the first body.
    headers = {"Idempotent-Replayed": "true"} if done.replayed else None
    return json_reply(document, headers=headers)


def internal_router() -> Router:
    return Router(
        path="/internal",
        route_handlers=[get_order, set_status, release],
        guards=[internal_only],
        middleware=[InternalCallMiddleware()],
    )
