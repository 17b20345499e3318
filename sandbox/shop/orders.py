"""The order service: orders, their items, the stock they reserve, and their status."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import Decimal

from sandbox.shop.errors import BadRequest, Conflict, NotFound
from sandbox.shop.identifiers import new_object_id, utc_now
from sandbox.shop.money import round_for

PENDING, CONFIRMED, CANCELLED = "PENDING", "CONFIRMED", "CANCELLED"
SETTABLE_STATUSES = frozenset({CONFIRMED, CANCELLED})


@dataclass(frozen=True, slots=True)
class OrderItem:
    product_id: str
    name: str
    quantity: int
    price: Decimal


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    user_id: str
    status: str
    items: tuple[OrderItem, ...]
    total_amount: Decimal
    currency: str
    created_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class NewOrder:
    """An order as the admin endpoint describes it: anything goes, even a wrong total."""

    user_id: str
    items: tuple[OrderItem, ...]
    currency: str = "usd"
    total_amount: Decimal | None = None
    status: str = PENDING
    reserve: bool = True


class OrderBook:
    """Creates orders with their stock reserved atomically, and moves their status."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def place(self, user_id: str, wanted: list[tuple[str, int]]) -> Order:
        """A customer's order: names and prices come from the catalogue, totals are computed."""
        merged: dict[str, int] = {}
        for product_id, quantity in wanted:
            merged[product_id] = merged.get(product_id, 0) + quantity
        items, currencies = [], set()
        for product_id, quantity in merged.items():
            row = self._db.execute(
                "SELECT name, price, currency FROM products WHERE id = ?", (product_id,)
            ).fetchone()
            if row is None:
                raise BadRequest(f"Product not found: {product_id}")
            currencies.add(row["currency"])
            items.append(OrderItem(product_id, row["name"], quantity, Decimal(row["price"])))
        if len(currencies) > 1:
            raise BadRequest("All items of an order must share one currency")
        return self.record(NewOrder(user_id, tuple(items), currencies.pop()))

    def record(self, new: NewOrder) -> Order:
        total = new.total_amount
        if total is None:
            subtotal = sum((i.price * i.quantity for i in new.items), Decimal(0))
            total = round_for(subtotal, new.currency)
        now = utc_now()
        order = Order(
            new_object_id(), new.user_id, new.status, new.items, total, new.currency, now, now
        )
        with self._db:
            self._db.execute(
                "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)",
                (order.id, order.user_id, order.status, str(total), order.currency, now, now),
            )
            for position, item in enumerate(order.items):
                reserved = self._reserve(item) if new.reserve else 0
                self._db.execute(
                    "INSERT INTO order_items VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        order.id,
                        position,
                        item.product_id,
                        item.name,
                        item.quantity,
                        str(item.price),
                        reserved,
                    ),
                )
        return order

    def _reserve(self, item: OrderItem) -> int:
        """Take the item's stock; unknown products (admin orders) reserve nothing."""
        row = self._db.execute(
            "SELECT name, stock FROM products WHERE id = ?", (item.product_id,)
        ).fetchone()
        if row is None:
            return 0
        if row["stock"] < item.quantity:
            raise BadRequest(f"Insufficient stock for {row['name']}")
        self._db.execute(
            "UPDATE products SET stock = stock - ? WHERE id = ?", (item.quantity, item.product_id)
        )
        return item.quantity

    def find(self, order_id: str) -> Order | None:
        row = self._db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        if row is None:
            return None
        items = self._db.execute(
            "SELECT * FROM order_items WHERE order_id = ? ORDER BY position", (order_id,)
        ).fetchall()
        return Order(
            id=row["id"],
            user_id=row["user_id"],
            status=row["status"],
            items=tuple(
                OrderItem(i["product_id"], i["name"], i["quantity"], Decimal(i["price"]))
                for i in items
            ),
            total_amount=Decimal(row["total_amount"]),
            currency=row["currency"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def get(self, order_id: str) -> Order:
        order = self.find(order_id)
        if order is None:
            raise NotFound("Order not found")
        return order

    def of_user(self, user_id: str) -> list[Order]:
        rows = self._db.execute(
            "SELECT id FROM orders WHERE user_id = ? ORDER BY created_at DESC, id DESC",
            (user_id,),
        ).fetchall()
        return [self.get(r["id"]) for r in rows]

    def set_status(self, order_id: str, status: str) -> tuple[Order, bool]:
        """Move a PENDING order on; repeating a move is harmless, reversing one is a conflict.

        Returns the order and whether this call changed it.
        """
        if status not in SETTABLE_STATUSES:
            raise BadRequest("status must be CONFIRMED or CANCELLED")
        order = self.get(order_id)
        if order.status == status:
            return order, False
        if order.status != PENDING:
            raise Conflict(f"Cannot change order status from {order.status} to {status}")
        now = utc_now()
        with self._db:
            self._db.execute(
                "UPDATE orders SET status = ?, updated_at = ? WHERE id = ?",
                (status, now, order_id),
            )
            self._db.execute(
                "INSERT INTO status_changes (order_id, from_status, to_status, at) "
                "VALUES (?, ?, ?, ?)",
                (order_id, order.status, status, now),
            )
        return self.get(order_id), True
