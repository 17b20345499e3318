"""The payments the processor parked, kept in the event store's own database (ADR 0012).

A parked payment is one whose effect a neighbour refused (`ServiceRejected`): the
processor moves past it in the log, so without a record of it a restart would forget
it until its next event. One small table, beside the store's tracking table, holds
its id and the last refusal; the processor reads it when it takes the lead and
deletes a row once the payment owes nothing. It is the processor's own bookkeeping,
not a fact about the payment: the payment's events stay the truth of what is owed.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.sql import SQL, Composed, Identifier

from application.ledger import PaymentLedger
from infrastructure.event_store.store import survive_concurrent_schema_creation

log = logging.getLogger(__name__)
TABLE = "payment_processor_parked"
REASON_MAX_CHARS = 1000


class ParkedPayments(Protocol):
    """Which payments are parked, and why; every method may block briefly on the database."""

    def all(self) -> dict[UUID, str]: ...

    def park(self, payment_id: UUID, reason: str) -> None: ...

    def unpark(self, payment_id: UUID) -> None: ...


class SqliteParkedPayments:
    """The table in the SQLite store's file (or in-memory database)."""

    def __init__(self, datastore: SQLiteDatastore) -> None:
        self._datastore = datastore
        self._execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} ("
            "payment_id TEXT PRIMARY KEY, reason TEXT NOT NULL, parked_at REAL NOT NULL)"
        )

    def all(self) -> dict[UUID, str]:
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT payment_id, reason FROM {TABLE}")  # noqa: S608 - constant
            return {UUID(row["payment_id"]): row["reason"] for row in cursor.fetchall()}

    def park(self, payment_id: UUID, reason: str) -> None:
        self._execute(
            f"INSERT INTO {TABLE} (payment_id, reason, parked_at) VALUES (?, ?, ?) "  # noqa: S608
            "ON CONFLICT (payment_id) DO UPDATE SET reason = excluded.reason",
            (str(payment_id), reason[:REASON_MAX_CHARS], time.time()),
        )

    def unpark(self, payment_id: UUID) -> None:
        self._execute(f"DELETE FROM {TABLE} WHERE payment_id = ?", (str(payment_id),))  # noqa: S608

    def _execute(self, statement: str, params: tuple[Any, ...] = ()) -> None:
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(statement, params)


class PostgresParkedPayments:
    """The table in the PostgreSQL store's schema."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self._datastore = datastore
        self._table = Identifier(datastore.schema, TABLE)
        survive_concurrent_schema_creation(
            lambda: self._execute(
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} (payment_id uuid PRIMARY KEY, "
                    "reason text NOT NULL, parked_at timestamptz NOT NULL DEFAULT now())"
                ).format(self._table)
            )
        )

    def all(self) -> dict[UUID, str]:
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(SQL("SELECT payment_id, reason FROM {}").format(self._table))
            return {UUID(str(row["payment_id"])): str(row["reason"]) for row in cursor.fetchall()}

    def park(self, payment_id: UUID, reason: str) -> None:
        self._execute(
            SQL(
                "INSERT INTO {} (payment_id, reason) VALUES (%s, %s) "
                "ON CONFLICT (payment_id) DO UPDATE SET reason = EXCLUDED.reason"
            ).format(self._table),
            (payment_id, reason[:REASON_MAX_CHARS]),
        )

    def unpark(self, payment_id: UUID) -> None:
        self._execute(
            SQL("DELETE FROM {} WHERE payment_id = %s").format(self._table), (payment_id,)
        )

    def _execute(self, statement: Composed, params: tuple[Any, ...] = ()) -> None:
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(statement, params)


class InMemoryParkedPayments:
    """For a store with no database of its own to write to: lives as long as the process."""

    def __init__(self) -> None:
        self._parked: dict[UUID, str] = {}
        self._lock = threading.Lock()

    def all(self) -> dict[UUID, str]:
        with self._lock:
            return dict(self._parked)

    def park(self, payment_id: UUID, reason: str) -> None:
        with self._lock:
            self._parked[payment_id] = reason

    def unpark(self, payment_id: UUID) -> None:
        with self._lock:
            self._parked.pop(payment_id, None)


def parked_payments_for(ledger: PaymentLedger) -> ParkedPayments:
    """The parked payments kept in the database of `ledger`'s event store."""
    datastore = getattr(ledger.recorder, "datastore", None)
    if isinstance(datastore, PostgresDatastore):
        return PostgresParkedPayments(datastore)
    if isinstance(datastore, SQLiteDatastore):
        return SqliteParkedPayments(datastore)
    log.warning("parked payments are kept in memory only: the event store has no database")
    return InMemoryParkedPayments()
