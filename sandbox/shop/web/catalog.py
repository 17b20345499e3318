"""The inventory service's public route: the product list with stock."""

from __future__ import annotations

from litestar import Response, get

from sandbox.shop.documents import product_document
from sandbox.shop.web.replies import json_reply
from sandbox.shop.wiring import Shop


@get("/products")
async def list_products(shop: Shop) -> Response[bytes]:
    return json_reply({"products": [product_document(p) for p in shop.inventory.products()]})
