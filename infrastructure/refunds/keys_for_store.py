"""Chooses the refund keys' table for the database of the ledger's event store."""

from __future__ import annotations

from application.ledger import PaymentLedger
from application.refund_keys import RefundKeys
from infrastructure.event_store.store import beside_events
from infrastructure.refunds.postgres_refund_keys import PostgresRefundKeys
from infrastructure.refunds.sqlite_refund_keys import SqliteRefundKeys


def refund_keys_for(ledger: PaymentLedger) -> RefundKeys:
    """The keys kept beside `ledger`'s events, their table created if missing."""
    return beside_events(
        ledger,
        "refund keys table",
        postgres=PostgresRefundKeys,
        sqlite=SqliteRefundKeys,
    )
