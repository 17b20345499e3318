"""The inventory service: products, their stock, and idempotent releases of reserved stock."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import Decimal

from sandbox.shop.errors import BadRequest, Conflict, NotFound
from sandbox.shop.identifiers import utc_now
from sandbox.shop.orders import CONFIRMED, OrderBook


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    name: str
    price: Decimal
    currency: str
    stock: int


@dataclass(frozen=True, slots=True)
class Release:
    """The outcome of one release call; `replayed` when its key had been seen before."""

    order_id: str
    product_id: str
    requested: int
    released: int
    replayed: bool


def _product(row: sqlite3.Row) -> Product:
    return Product(row["id"], row["name"], Decimal(row["price"]), row["currency"], row["stock"])


class Inventory:
    """Stock levels; a release gives back at most what the order reserved, once per key."""

    def __init__(self, connection: sqlite3.Connection, orders: OrderBook) -> None:
        self._db = connection
        self._orders = orders

    def products(self) -> list[Product]:
        return [_product(r) for r in self._db.execute("SELECT * FROM products ORDER BY id")]

    def product(self, product_id: str) -> Product:
        row = self._db.execute("SELECT * FROM products WHERE id = ?", (product_id,)).fetchone()
        if row is None:
            raise NotFound("Product not found")
        return _product(row)

    def set_stock(self, product_id: str, stock: int) -> Product:
        self.product(product_id)
        with self._db:
            self._db.execute("UPDATE products SET stock = ? WHERE id = ?", (stock, product_id))
        return self.product(product_id)

    def release(self, order_id: str, product_id: str, quantity: int, key: str) -> Release:
        seen = self._db.execute(
            "SELECT * FROM releases WHERE idempotency_key = ?", (key,)
        ).fetchone()
        if seen is not None:
            if (seen["order_id"], seen["product_id"], seen["requested"]) != (
                order_id,
                product_id,
                quantity,
            ):
                raise Conflict("Idempotency-Key was already used for a different release")
            return Release(order_id, product_id, quantity, seen["released"], replayed=True)
        amount = min(quantity, self._releasable(order_id, product_id))
        with self._db:
            self._db.execute(
                "INSERT INTO releases VALUES (?, ?, ?, ?, ?, ?)",
                (key, order_id, product_id, quantity, amount, utc_now()),
            )
            self._db.execute(
                "UPDATE products SET stock = stock + ? WHERE id = ?", (amount, product_id)
            )
        return Release(order_id, product_id, quantity, amount, replayed=False)

    def _releasable(self, order_id: str, product_id: str) -> int:
        """What the order still holds of this product: reserved minus already released."""
        order = self._orders.get(order_id)
        if order.status == CONFIRMED:
            raise Conflict("Order is CONFIRMED; its stock cannot be released")
        reserved = self._db.execute(
            "SELECT COUNT(*) AS n, COALESCE(SUM(reserved), 0) AS held FROM order_items "
            "WHERE order_id = ? AND product_id = ?",
            (order_id, product_id),
        ).fetchone()
        if reserved["n"] == 0:
            raise BadRequest(f"Product {product_id} is not part of order {order_id}")
        released = self._db.execute(
            "SELECT COALESCE(SUM(released), 0) AS done FROM releases "
            "WHERE order_id = ? AND product_id = ?",
            (order_id, product_id),
        ).fetchone()
        return max(0, int(reserved["held"]) - int(released["done"]))
