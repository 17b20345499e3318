"""Chooses the reconciliation indexes' tables for the database of the ledger's event store."""

from __future__ import annotations

from application.index_rows import IndexRows, Row
from application.ledger import PaymentLedger
from infrastructure.event_store.postgres_index_rows import PostgresIndexRows
from infrastructure.event_store.sqlite_index_rows import SqliteIndexRows
from infrastructure.event_store.store import beside_events


def index_rows_for(ledger: PaymentLedger, name: str, value_type: type[Row]) -> IndexRows[Row]:
    """The rows and position of the index `name`, kept beside `ledger`'s events (ADR 0018),
    their tables created if missing."""
    return beside_events(
        ledger,
        "index tables",
        postgres=lambda datastore: PostgresIndexRows(datastore, name, value_type),
        sqlite=lambda datastore: SqliteIndexRows(datastore, name, value_type),
    )
