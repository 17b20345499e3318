"""Chooses the effects queue's tables for the database of the ledger's event store."""

from __future__ import annotations

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from application.ledger import PaymentLedger
from infrastructure.effects.due_payments import DuePayments
from infrastructure.effects.postgres_due_payments import PostgresDuePayments
from infrastructure.effects.sqlite_due_payments import SqliteDuePayments
from infrastructure.event_store.store import survive_concurrent_schema_creation


def due_payments_for(ledger: PaymentLedger) -> DuePayments:
    """The queue kept beside `ledger`'s events, its tables created if missing."""
    datastore = getattr(ledger.recorder, "datastore", None)
    if isinstance(datastore, PostgresDatastore):
        return survive_concurrent_schema_creation(lambda: PostgresDuePayments(datastore))
    if isinstance(datastore, SQLiteDatastore):
        return SqliteDuePayments(datastore)
    raise TypeError(f"no effects queue for a store of {type(ledger.recorder).__name__}")
