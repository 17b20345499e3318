"""The refunds API's idempotency keys in the PostgreSQL store's schema.

A claim inserts and reads back in one transaction: a concurrent insert of the same key
makes ours wait for it, then do nothing, and the read (a new snapshot, READ COMMITTED)
sees the winner's row.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Composed, Identifier

from application.refund_keys import RefundKey, RefundKeys
from infrastructure.refunds.table import COLUMNS, TABLE, key_of


class PostgresRefundKeys(RefundKeys):
    """`refund_idempotency_keys` beside the store's events table."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self._datastore = datastore
        self._table = Identifier(datastore.schema, TABLE)
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(
                self._sql(
                    "CREATE TABLE IF NOT EXISTS {t} (key text PRIMARY KEY, "
                    "fingerprint text NOT NULL, order_id text NOT NULL, "
                    "refund_id text NOT NULL, created_at timestamptz NOT NULL)"
                )
            )

    def find(self, key: str) -> RefundKey | None:
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(self._sql("SELECT {c} FROM {t} WHERE key = %s"), (key,))
            row = cursor.fetchone()
        return key_of(row) if row else None

    def claim(self, candidate: RefundKey) -> RefundKey:
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(
                self._sql(
                    "INSERT INTO {t} ({c}) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING"
                ),
                (
                    candidate.key,
                    candidate.fingerprint,
                    candidate.order_id,
                    candidate.refund_id,
                    candidate.created_at,
                ),
            )
            cursor.execute(self._sql("SELECT {c} FROM {t} WHERE key = %s"), (candidate.key,))
            row: Any = cursor.fetchone()
        return key_of(row)

    def _sql(self, statement: str) -> Composed:
        return SQL(statement).format(t=self._table, c=SQL(COLUMNS))  # this module's constants
