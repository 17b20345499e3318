"""The JSON shapes the shop answers with, and their encoding (decimals as JSON numbers)."""

from __future__ import annotations

from typing import Any

import msgspec

from sandbox.shop.inventory import Product
from sandbox.shop.orders import Order

# Decimals are written as JSON numbers (199.98), exactly as stored, never via float.
_encoder = msgspec.json.Encoder(decimal_format="number")


def encode(document: object) -> bytes:
    return _encoder.encode(document)


def order_document(order: Order) -> dict[str, Any]:
    return {
        "_id": order.id,
        "userId": order.user_id,
        "status": order.status,
        "items": [
            {"productId": i.product_id, "name": i.name, "quantity": i.quantity, "price": i.price}
            for i in order.items
        ],
        "totalAmount": order.total_amount,
        "currency": order.currency,
        "createdAt": order.created_at,
        "updatedAt": order.updated_at,
    }


def product_document(product: Product) -> dict[str, Any]:
    return {
        "_id": product.id,
        "name": product.name,
        "price": product.price,
        "stock": product.stock,
        "currency": product.currency,
    }
