"""The shop's SQLite database: one file under the data dir, or memory when none is given."""

from __future__ import annotations

import sqlite3
from pathlib import Path

DATABASE_FILE = "shop.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS products (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    price TEXT NOT NULL,
    currency TEXT NOT NULL,
    stock INTEGER NOT NULL CHECK (stock >= 0)
);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    total_amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_user ON orders (user_id, created_at);
CREATE TABLE IF NOT EXISTS order_items (
    order_id TEXT NOT NULL REFERENCES orders (id),
    position INTEGER NOT NULL,
    product_id TEXT NOT NULL,
    name TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    price TEXT NOT NULL,
    reserved INTEGER NOT NULL,
    PRIMARY KEY (order_id, position)
);
CREATE TABLE IF NOT EXISTS status_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS releases (
    idempotency_key TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    requested INTEGER NOT NULL,
    released INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS releases_by_order ON releases (order_id, product_id);
CREATE TABLE IF NOT EXISTS internal_calls (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    route TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    order_id TEXT,
    body TEXT NOT NULL,
    idempotency_key TEXT,
    status INTEGER NOT NULL,
    fault TEXT,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS internal_calls_by_order ON internal_calls (order_id, seq);
"""


def open_database(data_dir: Path | None) -> sqlite3.Connection:
    """Open (and create if needed) the shop's database.

    One connection, used only from the event loop's thread: every operation is
    a short synchronous transaction, so requests never interleave inside one.
    """
    if data_dir is None:
        target = ":memory:"
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        target = str(data_dir / DATABASE_FILE)
    connection = sqlite3.connect(target, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA foreign_keys = ON")
    connection.executescript(SCHEMA)
    return connection
