"""One reconciliation index's rows and position in the SQLite store's file (`index_tables`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.sqlite import SQLiteDatastore

from application.index_rows import Fold, IndexRow, Row, fold_into, payment_id_of
from infrastructure.event_store.index_tables import POSITIONS_TABLE, ROWS_TABLE, RowCodec


class SqliteIndexRows(Generic[Row]):
    """`IndexRows` of the index `name`; each call is one transaction."""

    def __init__(self, datastore: SQLiteDatastore, name: str, value_type: type[Row]) -> None:
        self._datastore = datastore
        self._name = name
        self._codec = RowCodec(value_type)
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {ROWS_TABLE} (index_name TEXT NOT NULL, "
                "payment_id TEXT NOT NULL, version INTEGER NOT NULL, value TEXT NOT NULL, "
                "PRIMARY KEY (index_name, payment_id))"
            )
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {POSITIONS_TABLE} "
                "(index_name TEXT PRIMARY KEY, position INTEGER NOT NULL)"
            )

    def position(self) -> int:
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT position FROM {POSITIONS_TABLE} WHERE index_name = ?",  # noqa: S608
                (self._name,),
            )
            row = cursor.fetchone()
        return int(row["position"]) if row else 0

    def fold(self, notifications: Sequence[Notification], fold: Fold[Row]) -> None:
        if not notifications:
            return
        with self._datastore.transaction(commit=True) as cursor:
            # A write first, so the file's write lock is held before the position is read.
            cursor.execute(
                f"INSERT INTO {POSITIONS_TABLE} (index_name, position) VALUES (?, 0) "  # noqa: S608
                "ON CONFLICT (index_name) DO NOTHING",
                (self._name,),
            )
            cursor.execute(
                f"SELECT position FROM {POSITIONS_TABLE} WHERE index_name = ?",  # noqa: S608
                (self._name,),
            )
            position = int(cursor.fetchone()["position"])
            last = notifications[-1].id
            if position >= last:
                return  # another process folded this far already
            ids = sorted({str(payment_id_of(n)) for n in notifications if n.id > position})
            cursor.execute(
                f"SELECT payment_id, version, value FROM {ROWS_TABLE} "  # noqa: S608
                f"WHERE index_name = ? AND payment_id IN ({', '.join('?' * len(ids))})",
                (self._name, *ids),
            )
            rows = self._codec.rows(cursor.fetchall())
            changed = fold_into(rows, notifications, position, fold)
            cursor.executemany(
                f"INSERT INTO {ROWS_TABLE} (index_name, payment_id, version, value) "  # noqa: S608
                "VALUES (?, ?, ?, ?) ON CONFLICT (index_name, payment_id) DO UPDATE "
                "SET version = excluded.version, value = excluded.value",
                [
                    (self._name, str(row.payment_id), row.version, self._codec.encode(row.value))
                    for row in (rows[p] for p in changed if p in rows)
                ],
            )
            cursor.executemany(
                f"DELETE FROM {ROWS_TABLE} WHERE index_name = ? AND payment_id = ?",  # noqa: S608
                [(self._name, str(p)) for p in changed if p not in rows],
            )
            cursor.execute(
                f"UPDATE {POSITIONS_TABLE} SET position = ? WHERE index_name = ?",  # noqa: S608
                (last, self._name),
            )

    def advance(self, position: int) -> None:
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"INSERT INTO {POSITIONS_TABLE} (index_name, position) VALUES (?, ?) "  # noqa: S608
                "ON CONFLICT (index_name) DO UPDATE SET position = excluded.position "
                "WHERE position < excluded.position",
                (self._name, position),
            )

    def rows(self) -> list[IndexRow[Row]]:
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT payment_id, version, value FROM {ROWS_TABLE} "  # noqa: S608
                "WHERE index_name = ?",
                (self._name,),
            )
            records = cursor.fetchall()
        return list(self._codec.rows(records).values())

    def replace(self, payment_id: UUID, version: int, value: Row | None) -> bool:
        key = (self._name, str(payment_id), version)
        with self._datastore.transaction(commit=True) as cursor:
            if value is None:
                cursor.execute(
                    f"DELETE FROM {ROWS_TABLE} "  # noqa: S608
                    "WHERE index_name = ? AND payment_id = ? AND version = ?",
                    key,
                )
            else:
                cursor.execute(
                    f"UPDATE {ROWS_TABLE} SET value = ? "  # noqa: S608
                    "WHERE index_name = ? AND payment_id = ? AND version = ?",
                    (self._codec.encode(value), *key),
                )
            return bool(cursor.sqlite_cursor.rowcount)
