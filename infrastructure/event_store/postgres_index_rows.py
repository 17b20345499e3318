"""One reconciliation index's rows and position in the PostgreSQL store's schema
(`index_tables`).

A catch-up locks its index's position row (`FOR UPDATE`) before it reads anything, so
two processes folding the same notifications (the leader's sweep and a one-off
`payments reconcile`) take turns, and the second folds only what the first left.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Composed, Identifier

from application.index_rows import Fold, IndexRow, Row, fold_into, payment_id_of
from infrastructure.event_store.index_tables import POSITIONS_TABLE, ROWS_TABLE, RowCodec


class PostgresIndexRows(Generic[Row]):
    """`IndexRows` of the index `name`; each call is one transaction."""

    def __init__(self, datastore: PostgresDatastore, name: str, value_type: type[Row]) -> None:
        self._datastore = datastore
        self._name = name
        self._codec = RowCodec(value_type)
        self._rows = Identifier(datastore.schema, ROWS_TABLE)
        self._positions = Identifier(datastore.schema, POSITIONS_TABLE)
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(
                self._sql(
                    "CREATE TABLE IF NOT EXISTS {r} (index_name text NOT NULL, "
                    "payment_id uuid NOT NULL, version bigint NOT NULL, value text NOT NULL, "
                    "PRIMARY KEY (index_name, payment_id))"
                )
            )
            cursor.execute(
                self._sql(
                    "CREATE TABLE IF NOT EXISTS {p} "
                    "(index_name text PRIMARY KEY, position bigint NOT NULL)"
                )
            )

    def position(self) -> int:
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(
                self._sql("SELECT position FROM {p} WHERE index_name = %s"), (self._name,)
            )
            row = cursor.fetchone()
        return int(row["position"]) if row else 0

    def fold(self, notifications: Sequence[Notification], fold: Fold[Row]) -> None:
        if not notifications:
            return
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(
                self._sql(
                    "INSERT INTO {p} (index_name, position) VALUES (%s, 0) ON CONFLICT DO NOTHING"
                ),
                (self._name,),
            )
            # The row lock makes a second process wait, then see how far this one got.
            cursor.execute(
                self._sql("SELECT position FROM {p} WHERE index_name = %s FOR UPDATE"),
                (self._name,),
            )
            row: Any = cursor.fetchone()
            position = int(row["position"])
            last = notifications[-1].id
            if position >= last:
                return  # another process folded this far already
            ids = sorted({payment_id_of(n) for n in notifications if n.id > position})
            cursor.execute(
                self._sql(
                    "SELECT payment_id, version, value FROM {r} "
                    "WHERE index_name = %s AND payment_id = ANY(%s::uuid[])"
                ),
                (self._name, ids),
            )
            rows = self._codec.rows(cursor.fetchall())
            changed = fold_into(rows, notifications, position, fold)
            written = [rows[p] for p in sorted(changed) if p in rows]
            if written:
                cursor.executemany(
                    self._sql(
                        "INSERT INTO {r} (index_name, payment_id, version, value) "
                        "VALUES (%s, %s, %s, %s) ON CONFLICT (index_name, payment_id) "
                        "DO UPDATE SET version = excluded.version, value = excluded.value"
                    ),
                    [(self._name, r.payment_id, r.version, self._encoded(r)) for r in written],
                )
            removed = sorted(p for p in changed if p not in rows)
            if removed:
                cursor.execute(
                    self._sql(
                        "DELETE FROM {r} WHERE index_name = %s AND payment_id = ANY(%s::uuid[])"
                    ),
                    (self._name, removed),
                )
            cursor.execute(
                self._sql("UPDATE {p} SET position = %s WHERE index_name = %s"),
                (last, self._name),
            )

    def advance(self, position: int) -> None:
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(
                self._sql(
                    "INSERT INTO {p} (index_name, position) VALUES (%s, %s) "
                    "ON CONFLICT (index_name) DO UPDATE SET position = excluded.position "
                    "WHERE {p}.position < excluded.position"
                ),
                (self._name, position),
            )

    def rows(self) -> list[IndexRow[Row]]:
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(
                self._sql("SELECT payment_id, version, value FROM {r} WHERE index_name = %s"),
                (self._name,),
            )
            records = cursor.fetchall()
        return list(self._codec.rows(records).values())

    def replace(self, payment_id: UUID, version: int, value: Row | None) -> bool:
        key = (self._name, payment_id, version)
        with self._datastore.transaction(commit=True) as cursor:
            if value is None:
                cursor.execute(
                    self._sql(
                        "DELETE FROM {r} WHERE index_name = %s AND payment_id = %s AND version = %s"
                    ),
                    key,
                )
            else:
                cursor.execute(
                    self._sql(
                        "UPDATE {r} SET value = %s WHERE index_name = %s AND payment_id = %s "
                        "AND version = %s"
                    ),
                    (self._codec.encode(value), *key),
                )
            return bool(cursor.rowcount)

    def _encoded(self, row: IndexRow[Row]) -> str:
        return self._codec.encode(row.value)

    def _sql(self, statement: str) -> Composed:
        return SQL(statement).format(r=self._rows, p=self._positions)  # this module's constants
