"""Chooses the effects queue's tables for the database of the ledger's event store."""

from __future__ import annotations

from application.ledger import PaymentLedger
from infrastructure.effects.due_payments import DuePayments
from infrastructure.effects.postgres_due_payments import PostgresDuePayments
from infrastructure.effects.sqlite_due_payments import SqliteDuePayments
from infrastructure.event_store.store import beside_events


def due_payments_for(ledger: PaymentLedger) -> DuePayments:
    """The queue kept beside `ledger`'s events, its tables created if missing."""
    return beside_events(
        ledger,
        "effects queue",
        postgres=PostgresDuePayments,
        sqlite=SqliteDuePayments,
    )
