"""Reads the whole store one payment at a time: every event of a payment together, in version
order, each with its notification id.

The log followers read in notification order, where a payment's events lie far
apart; whoever needs a payment's whole history at once (the chain audit, a rebuild
of the status view) would then have to hold every payment met so far, or load it
again. Reading in the order of the events table's primary key (payment id, version),
a page at a time from the last key read, needs neither: memory is one page, whatever
the size of the store.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier

from application.ledger import PaymentLedger

PAGE_SIZE = 1000


def events_by_payment(
    ledger: PaymentLedger, stop: int | None = None, page_size: int = PAGE_SIZE
) -> Iterator[list[Notification]]:
    """Yields each payment's events (up to notification `stop`), oldest version first,
    payments in the order of their ids."""
    pages = _pages(ledger, stop, page_size)
    current: list[Notification] = []
    for page in pages:
        for notification in page:
            if current and notification.originator_id != current[0].originator_id:
                yield current
                current = []
            current.append(notification)
    if current:
        yield current


def events_of(ledger: PaymentLedger, up_to: Mapping[UUID, int]) -> dict[UUID, list[Notification]]:
    """The events of several payments in one query: each payment's up to its version in
    `up_to`, oldest first (a batch's worth of loads for the price of one)."""
    recorder = ledger.recorder
    found: dict[UUID, list[Notification]] = {payment_id: [] for payment_id in up_to}
    if not up_to:
        return found
    if isinstance(recorder, PostgresApplicationRecorder):
        table = Identifier(recorder.datastore.schema, recorder.events_table_name)
        statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {t} "
            "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(t=table)
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, (list(up_to),))
            rows = [
                (row["notification_id"], row["originator_id"], *_rest(row))
                for row in cursor.fetchall()
            ]
    elif isinstance(recorder, SQLiteApplicationRecorder):
        marks = ",".join("?" * len(up_to))
        query = (
            "SELECT rowid, originator_id, originator_version, topic, state "  # noqa: S608
            f"FROM {recorder.events_table_name} WHERE originator_id IN ({marks}) "
            "ORDER BY originator_id, originator_version"
        )
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(query, [payment_id.hex for payment_id in up_to])
            rows = [
                (row["rowid"], UUID(row["originator_id"]), *_rest(row)) for row in cursor.fetchall()
            ]
    else:
        raise TypeError(f"cannot read a {type(recorder).__name__} by payment")
    for notification_id, payment_id, version, topic, state in rows:
        if version <= up_to[payment_id]:
            found[payment_id].append(Notification(
                id=notification_id, originator_id=payment_id, originator_version=version,
                topic=topic, state=bytes(state),
            ))  # fmt: skip
    return found


def _rest(row: Any) -> tuple[int, str, bytes]:
    return row["originator_version"], row["topic"], row["state"]


def _pages(ledger: PaymentLedger, stop: int | None, size: int) -> Iterator[list[Notification]]:
    recorder = ledger.recorder
    if isinstance(recorder, PostgresApplicationRecorder):
        return _postgres_pages(recorder, stop, size)
    if isinstance(recorder, SQLiteApplicationRecorder):
        return _sqlite_pages(recorder, stop, size)
    raise TypeError(f"cannot read a {type(recorder).__name__} by payment")


def _sqlite_pages(
    recorder: SQLiteApplicationRecorder, stop: int | None, size: int
) -> Iterator[list[Notification]]:
    table = recorder.events_table_name
    after: tuple[str, int] = ("", 0)
    limit = "" if stop is None else "AND rowid <= ? "
    statement = (
        f"SELECT rowid, originator_id, originator_version, topic, state FROM {table} "  # noqa: S608
        f"WHERE (originator_id, originator_version) > (?, ?) {limit}"
        "ORDER BY originator_id, originator_version LIMIT ?"
    )
    while True:
        params: list[Any] = [*after, *([] if stop is None else [stop]), size]
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, params)
            rows = cursor.fetchall()
        if not rows:
            return
        yield [
            Notification(
                id=row["rowid"],
                originator_id=UUID(row["originator_id"]),
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=row["state"],
            )
            for row in rows
        ]
        after = (rows[-1]["originator_id"], rows[-1]["originator_version"])


def _postgres_pages(
    recorder: PostgresApplicationRecorder, stop: int | None, size: int
) -> Iterator[list[Notification]]:
    table = Identifier(recorder.datastore.schema, recorder.events_table_name)
    limit = SQL("") if stop is None else SQL("AND notification_id <= %(stop)s ")
    statement = SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {t} "
        "WHERE (originator_id, originator_version) > (%(id)s, %(version)s) {limit}"
        "ORDER BY originator_id, originator_version LIMIT %(size)s"
    ).format(t=table, limit=limit)
    after: tuple[UUID, int] = (UUID(int=0), 0)
    while True:
        params = {"id": after[0], "version": after[1], "stop": stop, "size": size}
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, params, prepare=True)
            rows = cursor.fetchall()
        if not rows:
            return
        yield [
            Notification(
                id=row["notification_id"],
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            for row in rows
        ]
        after = (rows[-1]["originator_id"], rows[-1]["originator_version"])
