"""The refunds API's idempotency keys in the SQLite store's file (or in-memory database)."""

from __future__ import annotations

from eventsourcing.sqlite import SQLiteDatastore

from application.refund_keys import RefundKey, RefundKeys
from infrastructure.refunds.table import COLUMNS, TABLE, key_of


class SqliteRefundKeys(RefundKeys):
    """`refund_idempotency_keys` beside the events; each call is one transaction."""

    def __init__(self, datastore: SQLiteDatastore) -> None:
        self._datastore = datastore
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} ("
                "key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, order_id TEXT NOT NULL, "
                "refund_id TEXT NOT NULL, created_at TEXT NOT NULL)"
            )

    def find(self, key: str) -> RefundKey | None:
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT {COLUMNS} FROM {TABLE} WHERE key = ?", (key,))  # noqa: S608
            row = cursor.fetchone()
        return key_of(row) if row else None

    def claim(self, candidate: RefundKey) -> RefundKey:
        with self._datastore.transaction(commit=True) as cursor:
            # The insert comes first, so the file's write lock is held before the read.
            cursor.execute(
                f"INSERT INTO {TABLE} ({COLUMNS}) VALUES (?, ?, ?, ?, ?) "  # noqa: S608
                "ON CONFLICT (key) DO NOTHING",
                (
                    candidate.key,
                    candidate.fingerprint,
                    candidate.order_id,
                    candidate.refund_id,
                    candidate.created_at.isoformat(),
                ),
            )
            cursor.execute(f"SELECT {COLUMNS} FROM {TABLE} WHERE key = ?", (candidate.key,))  # noqa: S608
            return key_of(cursor.fetchone())
