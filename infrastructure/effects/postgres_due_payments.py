"""The effects queue (`due_payments`) in the PostgreSQL store's schema.

Claims take rows with `FOR UPDATE SKIP LOCKED`, so workers on any number of hosts
claim different payments without waiting on each other, and every time is the
server's clock (`clock_timestamp()`), so hosts with skewed clocks agree on leases.

The queue is bookkeeping, not a fact about a payment (ADR 0015): its transactions
commit with `synchronous_commit = off`, so they do not wait for the WAL flush. A
server crash may lose the last few (never part of one, never out of order): the
feeder then feeds those payments again and a worker finds nothing owed (issue 15).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Composed, Identifier

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

NOW = SQL("extract(epoch FROM clock_timestamp())")


class PostgresDuePayments(DuePayments):
    """The queue's two tables beside the store's events table."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self._datastore = datastore
        self._table = Identifier(datastore.schema, TABLE)
        self._feed = Identifier(datastore.schema, FEED_TABLE)
        self._run(
            "CREATE TABLE IF NOT EXISTS {t} (payment_id uuid PRIMARY KEY, "
            "due_at double precision NOT NULL, generation bigint NOT NULL DEFAULT 1, "
            "attempts integer NOT NULL DEFAULT 0, failing_since double precision, "
            "alerted boolean NOT NULL DEFAULT false, last_error text, parked_reason text, "
            "lease_owner text, lease_until double precision)"
        )
        self._run("CREATE INDEX IF NOT EXISTS {index} ON {t} (due_at)")
        self._run(
            "CREATE TABLE IF NOT EXISTS {f} (name text PRIMARY KEY, position bigint NOT NULL)"
        )

    def position(self) -> int:
        rows = self._run("SELECT position FROM {f} WHERE name = %s", (FEED,), fetch=True)
        return int(rows[0]["position"]) if rows else 0

    def feed(self, payment_ids: Iterable[UUID], position: int) -> None:
        ids = list(dict.fromkeys(payment_ids))
        with self._write() as cursor:
            cursor.execute(
                self._sql("INSERT INTO {f} (name, position) VALUES (%s, 0) ON CONFLICT DO NOTHING"),
                (FEED,),
            )
            # The row lock makes a second feeder wait, then see how far this one got.
            cursor.execute(
                self._sql("SELECT position FROM {f} WHERE name = %s FOR UPDATE"), (FEED,)
            )
            row = cursor.fetchone()
            if row is not None and int(row["position"]) >= position:
                return
            if ids:
                cursor.execute(
                    self._sql(
                        "INSERT INTO {t} (payment_id, due_at) "
                        "SELECT unnest(%s::uuid[]), {now} ON CONFLICT (payment_id) DO UPDATE "
                        "SET due_at = LEAST({t}.due_at, excluded.due_at), "
                        "generation = {t}.generation + 1"
                    ),
                    (sorted(ids),),
                )
            cursor.execute(
                self._sql("UPDATE {f} SET position = %s WHERE name = %s"), (position, FEED)
            )

    def claim(self, owner: str, limit: int, lease_seconds: float) -> list[Claim]:
        rows = self._run(
            "UPDATE {t} SET lease_owner = %s, lease_until = {now} + %s "
            "WHERE payment_id IN (SELECT payment_id FROM {t} WHERE due_at <= {now} "
            "AND (lease_until IS NULL OR lease_until < {now}) ORDER BY due_at LIMIT %s "
            "FOR UPDATE SKIP LOCKED) "
            "RETURNING payment_id, generation, attempts, failing_since, alerted, parked_reason",
            (owner, lease_seconds, limit),
            fetch=True,
        )
        return [claim_of(row) for row in rows]

    def extend(self, owner: str, payment_ids: Iterable[UUID], lease_seconds: float) -> None:
        self._run(
            "UPDATE {t} SET lease_until = {now} + %s "
            "WHERE payment_id = ANY(%s::uuid[]) AND lease_owner = %s",
            (lease_seconds, list(payment_ids), owner),
        )

    def settled(self, claim: Claim, owner: str) -> bool:
        with self._write() as cursor:
            cursor.execute(
                self._sql("DELETE FROM {t} WHERE payment_id = %s AND generation = %s"),
                (claim.payment_id, claim.generation),
            )
            if cursor.rowcount:
                return True
            cursor.execute(
                self._sql(
                    "UPDATE {t} SET lease_owner = NULL, lease_until = NULL "
                    "WHERE payment_id = %s AND lease_owner = %s"
                ),
                (claim.payment_id, owner),
            )
        return False

    def retry_later(
        self, claim: Claim, owner: str, delay: float, error: str, *, alerted: bool
    ) -> None:
        self._reschedule(
            claim,
            owner,
            "attempts = attempts + 1, failing_since = COALESCE(failing_since, {now}), "
            "alerted = %s, last_error = %s",
            (alerted, error[:ERROR_MAX_CHARS]),
            delay,
        )

    def park(self, claim: Claim, owner: str, delay: float, reason: str) -> None:
        reason = reason[:ERROR_MAX_CHARS]
        self._reschedule(
            claim,
            owner,
            "attempts = 0, failing_since = NULL, alerted = false, last_error = %s, "
            "parked_reason = %s",
            (reason, reason),
            delay,
        )

    def _reschedule(
        self, claim: Claim, owner: str, assignments: str, params: tuple[Any, ...], delay: float
    ) -> None:
        # A newer event (another generation) makes the payment due now, not after the delay.
        self._run(
            "UPDATE {t} SET " + assignments + ", "  # noqa: S608 - both parts are constants here
            "due_at = CASE WHEN generation = %s THEN {now} + %s ELSE due_at END, "
            "lease_owner = NULL, lease_until = NULL WHERE payment_id = %s AND lease_owner = %s",
            (*params, claim.generation, delay, claim.payment_id, owner),
        )

    def release(self, owner: str) -> None:
        self._run(
            "UPDATE {t} SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = %s",
            (owner,),
        )

    def retry_parked_now(self) -> int:
        with self._write() as cursor:
            cursor.execute(
                self._sql("UPDATE {t} SET due_at = {now} WHERE parked_reason IS NOT NULL")
            )
            return int(cursor.rowcount)

    def depth(self) -> QueueDepth:
        rows = self._run(
            "SELECT COUNT(*) AS due, COUNT(parked_reason) AS parked, "
            "COALESCE({now} - MIN(due_at), 0) AS oldest FROM {t}",
            fetch=True,
        )
        row = rows[0]
        return QueueDepth(int(row["due"]), int(row["parked"]), max(0.0, float(row["oldest"])))

    @contextmanager
    def _write(self) -> Iterator[Any]:
        """A transaction whose commit does not wait for the WAL flush (see above)."""
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            yield cursor

    def _sql(self, statement: str) -> Composed:
        return SQL(statement).format(  # this module's own constants
            t=self._table, f=self._feed, now=NOW, index=Identifier(TABLE + "_due")
        )

    def _run(
        self, statement: str, params: tuple[Any, ...] = (), *, fetch: bool = False
    ) -> list[Any]:
        with self._write() as cursor:
            cursor.execute(self._sql(statement), params)
            return list(cursor.fetchall()) if fetch else []
