"""Sandbox state in SQLite: in memory by default, or a file so a restart keeps it.

Stripe objects are stored whole, as JSON, because the sandbox reads them back
whole; only what lists filter or sort on has its own column.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL,
    kind TEXT NOT NULL, status TEXT, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS objects_by_status ON objects (kind, status);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    event_id TEXT NOT NULL, url TEXT NOT NULL, state TEXT NOT NULL,
    attempts INTEGER NOT NULL, next_attempt_at REAL NOT NULL,
    PRIMARY KEY (event_id, url));
CREATE TABLE IF NOT EXISTS attempts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, url TEXT NOT NULL,
    attempt INTEGER NOT NULL, at REAL NOT NULL, status INTEGER, error TEXT);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, method TEXT NOT NULL, path TEXT NOT NULL,
    fingerprint TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL,
    request_id TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Delivery:
    """One event's delivery to one endpoint."""

    event_id: str
    url: str
    state: str  # pending | succeeded | failed
    attempts: int
    next_attempt_at: float


@dataclass(frozen=True)
class SavedResponse:
    """A response saved under an idempotency key, to be replayed."""

    method: str
    path: str
    fingerprint: str
    status: int
    body: dict[str, Any]
    request_id: str


class SandboxStore:
    """All sandbox state; every call is one short SQLite statement or transaction."""

    def __init__(self, data_dir: Path | None) -> None:
        target = ":memory:"
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
            target = str(data_dir / "stripe-sandbox.sqlite3")
        self._db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def setting(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def put_setting(self, name: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (name, value))

    def put_object(self, kind: str, body: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO objects (id, kind, status, body) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET status = excluded.status, body = excluded.body",
            (body["id"], kind, body.get("status"), json.dumps(body)),
        )

    def get_object(self, kind: str, object_id: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT body FROM objects WHERE kind = ? AND id = ?", (kind, object_id)
        ).fetchone()
        return None if row is None else _loads(row[0])

    def list_objects(self, kind: str, status: str | None = None) -> list[dict[str, Any]]:
        """Objects of a kind (with that `status`, if given), newest first like Stripe's lists."""
        sql, params = "SELECT body FROM objects WHERE kind = ?", [kind]
        if status is not None:
            sql, params = sql + " AND status = ?", [kind, status]
        rows = self._db.execute(sql + " ORDER BY seq DESC", params).fetchall()
        return [_loads(row[0]) for row in rows]

    def add_event(self, event: dict[str, Any], urls: list[str], now: float) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO events (id, body) VALUES (?, ?)", (event["id"], json.dumps(event))
            )
            for url in urls:
                self._db.execute(
                    "INSERT INTO deliveries VALUES (?, ?, 'pending', 0, ?)", (event["id"], url, now)
                )

    def get_event(self, event_id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT body FROM events WHERE id = ?", (event_id,)).fetchone()
        return None if row is None else _loads(row[0])

    def list_events(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT body FROM events ORDER BY seq DESC").fetchall()
        return [_loads(row[0]) for row in rows]

    def deliveries(self, event_id: str | None = None) -> list[Delivery]:
        sql = "SELECT event_id, url, state, attempts, next_attempt_at FROM deliveries"
        rows = (
            self._db.execute(sql + " WHERE event_id = ?", (event_id,))
            if event_id is not None
            else self._db.execute(sql)
        ).fetchall()
        return [Delivery(*row) for row in rows]

    def due_deliveries(self, now: float) -> list[Delivery]:
        rows = self._db.execute(
            "SELECT event_id, url, state, attempts, next_attempt_at FROM deliveries "
            "WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at",
            (now,),
        ).fetchall()
        return [Delivery(*row) for row in rows]

    def update_delivery(self, delivery: Delivery) -> None:
        self._db.execute(
            "UPDATE deliveries SET state = ?, attempts = ?, next_attempt_at = ? "
            "WHERE event_id = ? AND url = ?",
            (
                delivery.state,
                delivery.attempts,
                delivery.next_attempt_at,
                delivery.event_id,
                delivery.url,
            ),
        )

    def requeue_delivery(self, event_id: str, url: str, now: float) -> None:
        self._db.execute(
            "INSERT INTO deliveries VALUES (?, ?, 'pending', 0, ?) ON CONFLICT (event_id, url) "
            "DO UPDATE SET state = 'pending', attempts = 0, "
            "next_attempt_at = excluded.next_attempt_at",
            (event_id, url, now),
        )

    def record_attempt(
        self, delivery: Delivery, at: float, status: int | None, error: str | None
    ) -> None:
        self._db.execute(
            "INSERT INTO attempts (event_id, url, attempt, at, status, error) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (delivery.event_id, delivery.url, delivery.attempts + 1, at, status, error),
        )

    def attempts(self, event_id: str | None) -> list[dict[str, Any]]:
        sql = "SELECT event_id, url, attempt, at, status, error FROM attempts"
        params: tuple[str, ...] = ()
        if event_id is not None:
            sql, params = sql + " WHERE event_id = ?", (event_id,)
        rows = self._db.execute(sql + " ORDER BY seq", params).fetchall()
        names = ("event_id", "url", "attempt", "at", "status", "error")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def saved_response(self, key: str) -> SavedResponse | None:
        row = self._db.execute(
            "SELECT method, path, fingerprint, status, body, request_id FROM idempotency "
            "WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        return SavedResponse(row[0], row[1], row[2], row[3], _loads(row[4]), row[5])

    def save_response(self, key: str, saved: SavedResponse) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                saved.method,
                saved.path,
                saved.fingerprint,
                saved.status,
                json.dumps(saved.body),
                saved.request_id,
            ),
        )


def _loads(text: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(text)
    return value
