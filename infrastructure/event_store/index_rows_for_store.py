"""Chooses the reconciliation indexes' tables for the database of the ledger's event store."""

from __future__ import annotations

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from application.index_rows import IndexRows, Row
from application.ledger import PaymentLedger
from infrastructure.event_store.postgres_index_rows import PostgresIndexRows
from infrastructure.event_store.sqlite_index_rows import SqliteIndexRows
from infrastructure.event_store.store import survive_concurrent_schema_creation


def index_rows_for(ledger: PaymentLedger, name: str, value_type: type[Row]) -> IndexRows[Row]:
    """The rows and position of the index `name`, kept beside `ledger`'s events (ADR 0018),
    their tables created if missing."""
    datastore = getattr(ledger.recorder, "datastore", None)
    if isinstance(datastore, PostgresDatastore):
        return survive_concurrent_schema_creation(
            lambda: PostgresIndexRows(datastore, name, value_type)
        )
    if isinstance(datastore, SQLiteDatastore):
        return SqliteIndexRows(datastore, name, value_type)
    raise TypeError(f"no index tables for a store of {type(ledger.recorder).__name__}")
