"""Edits the stored events behind the application's back, as an attacker with SQL access would."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import psycopg

from application.ledger import PaymentLedger
from domain.audit_chain import digest_of
from domain.payment import Payment

# Resolves to `Payment.Succeeded` (the module imports `Payment`), so the store replays it.
ALIASED_SUCCESS_TOPIC = "application.ledger:Payment.Succeeded"


def forged_success(ledger: PaymentLedger, order_id: str, *, intact: bool) -> bytes:
    """The stored state of a Succeeded event the service never recorded, as the order's
    payment's next event: its chain hash garbage, or (`intact`) recomputed so the chain holds."""
    payment = ledger.find(order_id)
    assert payment is not None
    payment.succeed(f"evt_forged_{order_id}", "pi_forged", "attacker@example.com", payment.amount)
    (event,) = payment.collect_events()
    assert isinstance(event, Payment.declared_event("Succeeded"))
    if not intact:
        vars(event)["chain_hash"] = "garbage"
    return ledger.mapper.to_stored_event(event).state


class StoreTamperer:
    """Direct SQL on the events table of a SQLite file or a PostgreSQL schema."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._sqlite = parts.scheme == "sqlite"
        self._path = parts.path[1:]
        self._schema = parse_qs(parts.query).get("schema", ["public"])[0]

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        if self._sqlite:
            conn = sqlite3.connect(self._path)
            try:
                yield conn.cursor()
                conn.commit()
            finally:
                conn.close()
            return
        with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres") as pg:
            cursor = pg.cursor()
            cursor.execute(f'SET search_path TO "{self._schema}"')
            yield cursor

    @property
    def _table(self) -> str:
        return "stored_events" if self._sqlite else "payments_events"

    def _id(self, payment_id: UUID) -> Any:
        return payment_id.hex if self._sqlite else payment_id

    @property
    def _mark(self) -> str:
        return "?" if self._sqlite else "%s"

    def state(self, payment_id: UUID, version: int) -> bytes:
        with self._cursor() as cursor:
            cursor.execute(
                f"SELECT state FROM {self._table} WHERE originator_id={self._mark} "
                f"AND originator_version={self._mark}",
                (self._id(payment_id), version),
            )
            return bytes(cursor.fetchone()[0])

    def set_state(self, payment_id: UUID, version: int, state: bytes) -> None:
        self._execute(
            f"UPDATE {self._table} SET state={self._mark} "
            f"WHERE originator_id={self._mark} AND originator_version={self._mark}",
            (state, self._id(payment_id), version),
        )

    def insert(self, payment_id: UUID, version: int, topic: str, state: bytes) -> None:
        """Adds an event row (it gets the next notification id, as a real save would)."""
        self._execute(
            f"INSERT INTO {self._table} (originator_id, originator_version, topic, state) "
            f"VALUES ({self._mark}, {self._mark}, {self._mark}, {self._mark})",
            (self._id(payment_id), version, topic, state),
        )

    def delete(self, payment_id: UUID, version: int) -> None:
        self._execute(
            f"DELETE FROM {self._table} WHERE originator_id={self._mark} "
            f"AND originator_version={self._mark}",
            (self._id(payment_id), version),
        )

    def swap_versions(self, payment_id: UUID, first: int, second: int) -> None:
        """Renumbers two events so each takes the other's place."""
        for old, new in ((first, -1), (second, first), (-1, second)):
            self._execute(
                f"UPDATE {self._table} SET originator_version={self._mark} "
                f"WHERE originator_id={self._mark} AND originator_version={self._mark}",
                (new, self._id(payment_id), old),
            )

    def swap_contents(self, payment_id: UUID, first: int, second: int) -> None:
        """Exchanges the type and data of two events, keeping their version numbers."""
        a, b = self.state(payment_id, first), self.state(payment_id, second)
        ta, tb = self.topic(payment_id, first), self.topic(payment_id, second)
        for version, state, topic in ((first, b, tb), (second, a, ta)):
            self._execute(
                f"UPDATE {self._table} SET state={self._mark}, topic={self._mark} "
                f"WHERE originator_id={self._mark} AND originator_version={self._mark}",
                (state, topic, self._id(payment_id), version),
            )

    def set_topic(self, payment_id: UUID, version: int, topic: str) -> None:
        self._execute(
            f"UPDATE {self._table} SET topic={self._mark} "
            f"WHERE originator_id={self._mark} AND originator_version={self._mark}",
            (topic, self._id(payment_id), version),
        )

    def topic(self, payment_id: UUID, version: int) -> str:
        with self._cursor() as cursor:
            cursor.execute(
                f"SELECT topic FROM {self._table} WHERE originator_id={self._mark} "
                f"AND originator_version={self._mark}",
                (self._id(payment_id), version),
            )
            return str(cursor.fetchone()[0])

    def rewrite_consistently(self, ledger: PaymentLedger, payment_id: UUID, **changes: Any) -> None:
        """Changes the first event and recomputes every hash after it, leaving no broken link."""
        events = list(ledger.history(payment_id))
        previous = vars(events[0])["previous_hash"]
        for index, event in enumerate(events):
            state = vars(event)
            if index == 0:
                state.update(changes)
            state["previous_hash"] = previous
            state["chain_hash"] = digest_of(event)
            previous = state["chain_hash"]
            stored = ledger.mapper.to_stored_event(event)
            self.set_state(payment_id, event.originator_version, stored.state)

    def _execute(self, statement: str, params: tuple[Any, ...]) -> None:
        with self._cursor() as cursor:
            cursor.execute(statement, params)
