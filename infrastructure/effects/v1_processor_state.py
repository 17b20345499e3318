"""Where the sequential processor of earlier versions stopped, read from its own tables.

Before the effects queue, one processor followed the log with an eventsourcing
tracking position named `PaymentProcessor` and kept the payments it could not
settle in `payment_processor_parked`. A store written then is adopted by starting
the queue's feeder at that position with the parked payments due at once.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import PersistenceError
from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier

from application.ledger import PaymentLedger
from infrastructure.event_store.store import survive_concurrent_schema_creation

V1_TRACKING_NAME = "PaymentProcessor"
V1_PARKED_TABLE = "payment_processor_parked"


def v1_processor_state(ledger: PaymentLedger) -> tuple[int, list[UUID]]:
    """The old processor's position (0 if it never ran here) and the payments it parked."""
    tracking = survive_concurrent_schema_creation(ledger.factory.tracking_recorder)
    position = int(tracking.max_tracking_id(V1_TRACKING_NAME) or 0)
    return position, _parked(getattr(ledger.recorder, "datastore", None)) if position else []


def _parked(datastore: Any) -> list[UUID]:
    try:
        with datastore.transaction(commit=False) as cursor:
            if isinstance(datastore, PostgresDatastore):
                table = Identifier(datastore.schema, V1_PARKED_TABLE)
                cursor.execute(SQL("SELECT payment_id FROM {}").format(table))
            else:
                cursor.execute(f"SELECT payment_id FROM {V1_PARKED_TABLE}")  # noqa: S608
            return [UUID(str(row["payment_id"])) for row in cursor.fetchall()]
    except PersistenceError:
        return []  # the old processor never parked anything here
