"""The order service's customer routes (Bearer JWT; a customer sees only their own orders)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import MediaType, Response, get, post

from sandbox.shop.documents import order_document
from sandbox.shop.errors import NotFound
from sandbox.shop.web.auth import bearer_caller
from sandbox.shop.web.replies import AnyRequest, decode_body, json_reply
from sandbox.shop.wiring import Shop


class WantedItem(msgspec.Struct, rename="camel"):
    product_id: Annotated[str, msgspec.Meta(min_length=1)]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]


class OrderRequest(msgspec.Struct):
    items: Annotated[list[WantedItem], msgspec.Meta(min_length=1)]


@post("/orders", status_code=201)
async def create_order(request: AnyRequest, shop: Shop) -> Response[bytes]:
    caller = bearer_caller(request, shop)
    wanted = decode_body(await request.body(), OrderRequest)
    order = shop.orders.place(caller.user_id, [(i.product_id, i.quantity) for i in wanted.items])
    return json_reply({"order": order_document(order)}, 201)


@get("/orders")
async def list_orders(request: AnyRequest, shop: Shop) -> Response[bytes]:
    caller = bearer_caller(request, shop)
    orders = shop.orders.of_user(caller.user_id)
    return json_reply({"orders": [order_document(o) for o in orders]})


@get("/orders/{order_id:str}")
async def get_order(request: AnyRequest, shop: Shop, order_id: str) -> Response[bytes]:
    if "payment" in request.query_params and "authorization" not in request.headers:
        return checkout_return_page(request.query_params["payment"])
    caller = bearer_caller(request, shop)
    order = shop.orders.find(order_id)
    # Someone else's order is "not found", so ids cannot be probed.
    if order is None or order.user_id != caller.user_id:
        raise NotFound("Order not found")
    return json_reply({"order": order_document(order)})


def checkout_return_page(outcome: str) -> Response[bytes]:
    """Where Stripe sends the browser back (`success_url`/`cancel_url`): the storefront's page.

    It promises nothing: the order is confirmed when the payment service hears
    from Stripe, not when the browser comes back.
    """
    text = (
        "Thank you: your payment is being confirmed. Your order shows CONFIRMED once it is."
        if outcome == "success"
        else "Payment cancelled: your order stays PENDING until its checkout session expires."
    )
    page = f'<!doctype html><title>Your order</title><p id="outcome">{text}</p>'
    return Response(page.encode(), media_type=MediaType.HTML)
