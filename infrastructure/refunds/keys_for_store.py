"""Chooses the refund keys' table for the database of the ledger's event store."""

from __future__ import annotations

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from application.ledger import PaymentLedger
from application.refund_keys import RefundKeys
from infrastructure.event_store.store import survive_concurrent_schema_creation
from infrastructure.refunds.postgres_refund_keys import PostgresRefundKeys
from infrastructure.refunds.sqlite_refund_keys import SqliteRefundKeys


def refund_keys_for(ledger: PaymentLedger) -> RefundKeys:
    """The keys kept beside `ledger`'s events, their table created if missing."""
    datastore = getattr(ledger.recorder, "datastore", None)
    if isinstance(datastore, PostgresDatastore):
        return survive_concurrent_schema_creation(lambda: PostgresRefundKeys(datastore))
    if isinstance(datastore, SQLiteDatastore):
        return SqliteRefundKeys(datastore)
    raise TypeError(f"no refund keys table for a store of {type(ledger.recorder).__name__}")
