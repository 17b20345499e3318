"""The users and products a fresh shop starts with (fixed ids, so docs and tests can name them)."""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

from sandbox.shop.passwords import hash_password

SEED_PASSWORD = "password123"  # noqa: S105 - the documented password of the test users


class SeedUser(NamedTuple):
    id: str
    email: str
    role: str


class SeedProduct(NamedTuple):
    id: str
    name: str
    price: str
    currency: str
    stock: int


USERS = (
    SeedUser("64b000000000000000000001", "testuser@example.com", "user"),
    SeedUser("64b000000000000000000002", "otheruser@example.com", "user"),
    SeedUser("64b000000000000000000003", "auditor@example.com", "auditor"),
    # The shop's operator: the payment service lets role `admin` refund (POST /refunds).
    SeedUser("64b000000000000000000004", "admin@example.com", "admin"),
)

PRODUCTS = (
    SeedProduct("64a000000000000000000001", "Wireless Headphones", "99.99", "usd", 100),
    SeedProduct("64a000000000000000000002", "Mechanical Keyboard", "149.50", "usd", 50),
    SeedProduct("64a000000000000000000003", "USB-C Cable", "9.99", "usd", 500),
    SeedProduct("64a000000000000000000004", "Limited Edition Print", "250.00", "usd", 2),
)


def seed_if_empty(connection: sqlite3.Connection) -> None:
    """Insert the seed rows once; a restarted shop keeps whatever state it had.

    Seed users missing from an older data dir (the admin came later) are added; users and
    products already there are left as they are.
    """
    fresh = connection.execute("SELECT 1 FROM users LIMIT 1").fetchone() is None
    with connection:
        connection.executemany(
            "INSERT OR IGNORE INTO users (id, email, password_hash, role) VALUES (?, ?, ?, ?)",
            [
                (u.id, u.email, hash_password(SEED_PASSWORD), u.role)
                for u in _missing_users(connection)
            ],
        )
        if fresh:
            connection.executemany(
                "INSERT INTO products (id, name, price, currency, stock) VALUES (?, ?, ?, ?, ?)",
                PRODUCTS,
            )


def _missing_users(connection: sqlite3.Connection) -> list[SeedUser]:
    # Only these are hashed: a password hash is deliberately slow.
    known = {row[0] for row in connection.execute("SELECT id FROM users")}
    return [user for user in USERS if user.id not in known]
