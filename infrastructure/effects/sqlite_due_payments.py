"""The effects queue (`due_payments`) in the SQLite store's file or in-memory database.

A claim is one `UPDATE … RETURNING` statement: it takes the file's write lock at
once, so the processes of one machine never claim the same row twice.

The queue is bookkeeping, not a fact about a payment (ADR 0015), so its writes commit
without waiting for the disk (`synchronous=NORMAL` for that transaction, in WAL mode):
they go to the write-ahead log in order, and the next event write's fsync takes them
along. A power cut may lose the last few: the feeder then feeds those payments again
and a worker finds nothing owed, so it costs a look, never an effect. Every commit
that waited for the disk took a few milliseconds from the webhooks' writes to the
same file (issue 15).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore

from infrastructure.effects.due_payments import (
    ERROR_MAX_CHARS,
    FEED,
    FEED_TABLE,
    TABLE,
    Claim,
    DuePayments,
    QueueDepth,
    claim_of,
)


class SqliteDuePayments(DuePayments):
    """The queue in the SQLite store's file (or in-memory database)."""

    def __init__(self, datastore: SQLiteDatastore) -> None:
        self._datastore = datastore
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} ("
                "payment_id TEXT PRIMARY KEY, due_at REAL NOT NULL, "
                "generation INTEGER NOT NULL DEFAULT 1, attempts INTEGER NOT NULL DEFAULT 0, "
                "failing_since REAL, alerted INTEGER NOT NULL DEFAULT 0, last_error TEXT, "
                "parked_reason TEXT, lease_owner TEXT, lease_until REAL)"
            )
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_due ON {TABLE} (due_at)")
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {FEED_TABLE} "
                "(name TEXT PRIMARY KEY, position INTEGER NOT NULL)"
            )

    @contextmanager
    def _write(self) -> Iterator[SQLiteCursor]:
        """A write transaction whose commit does not wait for the disk (see above)."""
        with self._datastore.get_connection(commit=True) as connection:
            setting = connection.cursor()
            setting.execute("PRAGMA synchronous")
            before = int(setting.fetchone()[0])
            setting.execute("PRAGMA synchronous=NORMAL")  # not allowed inside a transaction
            try:
                with connection.transaction(commit=True) as cursor:
                    yield cursor
            finally:
                setting.execute(f"PRAGMA synchronous={before}")

    def position(self) -> int:
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT position FROM {FEED_TABLE} WHERE name = ?", (FEED,))  # noqa: S608
            row = cursor.fetchone()
        return int(row["position"]) if row else 0

    def feed(self, payment_ids: Iterable[UUID], position: int) -> None:
        now = time.time()
        with self._write() as cursor:
            # A write first, so the file's write lock is taken before anything is read.
            cursor.execute(
                f"INSERT INTO {FEED_TABLE} (name, position) VALUES (?, 0) "  # noqa: S608
                "ON CONFLICT (name) DO NOTHING",
                (FEED,),
            )
            cursor.execute(f"SELECT position FROM {FEED_TABLE} WHERE name = ?", (FEED,))  # noqa: S608
            if int(cursor.fetchone()["position"]) >= position:
                return  # another process fed this far already
            for payment_id in payment_ids:
                cursor.execute(
                    f"INSERT INTO {TABLE} (payment_id, due_at) VALUES (?, ?) "  # noqa: S608
                    "ON CONFLICT (payment_id) DO UPDATE SET "
                    "due_at = MIN(due_at, excluded.due_at), generation = generation + 1",
                    (str(payment_id), now),
                )
            cursor.execute(
                f"UPDATE {FEED_TABLE} SET position = ? WHERE name = ?",  # noqa: S608
                (position, FEED),
            )

    def claim(self, owner: str, limit: int, lease_seconds: float) -> list[Claim]:
        now = time.time()
        with self._write() as cursor:
            cursor.execute(
                f"UPDATE {TABLE} SET lease_owner = ?, lease_until = ? "  # noqa: S608
                f"WHERE payment_id IN (SELECT payment_id FROM {TABLE} WHERE due_at <= ? "
                "AND (lease_until IS NULL OR lease_until < ?) ORDER BY due_at LIMIT ?) "
                "RETURNING payment_id, generation, attempts, failing_since, alerted, parked_reason",
                (owner, now + lease_seconds, now, now, limit),
            )
            rows = cursor.fetchall()
        return [claim_of(row) for row in rows]

    def extend(self, owner: str, payment_ids: Iterable[UUID], lease_seconds: float) -> None:
        until = time.time() + lease_seconds
        with self._write() as cursor:
            for payment_id in payment_ids:
                cursor.execute(
                    f"UPDATE {TABLE} SET lease_until = ? "  # noqa: S608
                    "WHERE payment_id = ? AND lease_owner = ?",
                    (until, str(payment_id), owner),
                )

    def settled(self, claim: Claim, owner: str) -> bool:
        with self._write() as cursor:
            cursor.execute(
                f"DELETE FROM {TABLE} WHERE payment_id = ? AND generation = ?",  # noqa: S608
                (str(claim.payment_id), claim.generation),
            )
            if cursor.sqlite_cursor.rowcount:
                return True
            cursor.execute(
                f"UPDATE {TABLE} SET lease_owner = NULL, lease_until = NULL "  # noqa: S608
                "WHERE payment_id = ? AND lease_owner = ?",
                (str(claim.payment_id), owner),
            )
        return False

    def retry_later(
        self, claim: Claim, owner: str, delay: float, error: str, *, alerted: bool
    ) -> None:
        now = time.time()
        self._reschedule(
            claim,
            owner,
            "attempts = attempts + 1, failing_since = COALESCE(failing_since, ?), "
            "alerted = ?, last_error = ?",
            (now, int(alerted), error[:ERROR_MAX_CHARS]),
            now + delay,
        )

    def park(self, claim: Claim, owner: str, delay: float, reason: str) -> None:
        reason = reason[:ERROR_MAX_CHARS]
        self._reschedule(
            claim,
            owner,
            "attempts = 0, failing_since = NULL, alerted = 0, last_error = ?, parked_reason = ?",
            (reason, reason),
            time.time() + delay,
        )

    def _reschedule(
        self, claim: Claim, owner: str, assignments: str, params: tuple[Any, ...], due_at: float
    ) -> None:
        # A newer event (another generation) makes the payment due now, not after the delay.
        with self._write() as cursor:
            cursor.execute(
                f"UPDATE {TABLE} SET {assignments}, "  # noqa: S608
                "due_at = CASE WHEN generation = ? THEN ? ELSE due_at END, "
                "lease_owner = NULL, lease_until = NULL WHERE payment_id = ? AND lease_owner = ?",
                (*params, claim.generation, due_at, str(claim.payment_id), owner),
            )

    def release(self, owner: str) -> None:
        with self._write() as cursor:
            cursor.execute(
                f"UPDATE {TABLE} SET lease_owner = NULL, lease_until = NULL "  # noqa: S608
                "WHERE lease_owner = ?",
                (owner,),
            )

    def retry_parked_now(self) -> int:
        with self._write() as cursor:
            cursor.execute(
                f"UPDATE {TABLE} SET due_at = ? WHERE parked_reason IS NOT NULL",  # noqa: S608
                (time.time(),),
            )
            return int(cursor.sqlite_cursor.rowcount)

    def depth(self) -> QueueDepth:
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT COUNT(*) AS due, COUNT(parked_reason) AS parked, "  # noqa: S608
                f"MIN(due_at) AS oldest FROM {TABLE}"
            )
            row = cursor.fetchone()
        oldest = row["oldest"]
        age = max(0.0, time.time() - float(oldest)) if oldest is not None else 0.0
        return QueueDepth(int(row["due"]), int(row["parked"]), age)
