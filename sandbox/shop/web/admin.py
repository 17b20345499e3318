"""`/_shop/…`: test and dev controls (a loopback tool, no auth): faults, calls, stock, orders."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Response, Router, delete, get, post, put
from litestar.params import Parameter

from sandbox.shop.documents import order_document, product_document
from sandbox.shop.errors import BadRequest
from sandbox.shop.faults import FaultSpec
from sandbox.shop.money import parse_amount
from sandbox.shop.orders import NewOrder, OrderItem
from sandbox.shop.web.replies import AnyRequest, decode_body, json_reply
from sandbox.shop.wiring import Shop


class AdminItem(msgspec.Struct, rename="camel"):
    product_id: str
    quantity: int
    price: Any
    name: str | None = None


class AdminOrder(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """Any order a test needs, even one the customer routes would refuse."""

    items: list[AdminItem]
    user_id: str | None = None
    email: str | None = None
    currency: str = "usd"
    total_amount: Any = None
    status: str = "PENDING"
    reserve: bool = True


class StockLevel(msgspec.Struct):
    stock: Annotated[int, msgspec.Meta(ge=0)]


@get("/health")
async def health() -> Response[bytes]:
    return json_reply({"ok": True})


@post("/faults", status_code=201)
async def add_fault(request: AnyRequest, shop: Shop) -> Response[bytes]:
    fault = shop.faults.add(decode_body(await request.body(), FaultSpec))
    return json_reply({"fault": {"id": fault.id}, "faults": shop.faults.listing()}, 201)


@get("/faults")
async def list_faults(shop: Shop) -> Response[bytes]:
    return json_reply({"faults": shop.faults.listing()})


@delete("/faults", status_code=200)
async def clear_faults(shop: Shop) -> Response[bytes]:
    shop.faults.clear()
    return json_reply({"faults": []})


@get("/calls")
async def list_calls(
    shop: Shop,
    order_id: Annotated[str | None, Parameter(query="orderId")] = None,
    route: str | None = None,
) -> Response[bytes]:
    document: dict[str, Any] = {"calls": shop.calls.calls(order_id, route)}
    if order_id is not None:
        document["effects"] = shop.calls.effects(order_id)
    return json_reply(document)


@get("/products/{product_id:str}")
async def product(shop: Shop, product_id: str) -> Response[bytes]:
    return json_reply({"product": product_document(shop.inventory.product(product_id))})


@put("/products/{product_id:str}/stock")
async def set_stock(request: AnyRequest, shop: Shop, product_id: str) -> Response[bytes]:
    level = decode_body(await request.body(), StockLevel)
    updated = shop.inventory.set_stock(product_id, level.stock)
    return json_reply({"product": product_document(updated)})


@get("/users")
async def users(shop: Shop) -> Response[bytes]:
    return json_reply({"users": shop.accounts.users()})


@post("/orders", status_code=201)
async def create_order(request: AnyRequest, shop: Shop) -> Response[bytes]:
    wanted = decode_body(await request.body(), AdminOrder)
    order = shop.orders.record(_new_order(wanted, shop))
    return json_reply({"order": order_document(order)}, 201)


@get("/orders/{order_id:str}")
async def read_order(shop: Shop, order_id: str) -> Response[bytes]:
    """The order as stored, without going through the internal route's faults and log."""
    return json_reply({"order": order_document(shop.orders.get(order_id))})


def _new_order(wanted: AdminOrder, shop: Shop) -> NewOrder:
    user_id = wanted.user_id or (shop.accounts.user_id(wanted.email) if wanted.email else None)
    if user_id is None:
        raise BadRequest("userId or a known email is required")
    items = tuple(
        OrderItem(i.product_id, i.name or i.product_id, i.quantity, parse_amount(i.price, "price"))
        for i in wanted.items
    )
    total = wanted.total_amount
    total = None if total is None else parse_amount(total, "totalAmount")
    return NewOrder(user_id, items, wanted.currency.lower(), total, wanted.status, wanted.reserve)


def admin_router() -> Router:
    return Router(
        path="/_shop",
        route_handlers=[
            health,
            add_fault,
            list_faults,
            clear_faults,
            list_calls,
            product,
            set_stock,
            users,
            create_order,
            read_order,
        ],
        include_in_schema=False,
    )
