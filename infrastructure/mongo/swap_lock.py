"""Keeps the status view's writers and a rebuild's swap apart: a readers-writer lock per store.

A projection batch writes its documents and then its position holding the lock shared;
a rebuild renames its collection over `payments` holding it exclusively
(`MongoPaymentView.swap_in`). So a batch is written wholly before the rename (into
the collection it drops, and the position goes back to the rebuilt one) or wholly
after it (into the rebuilt collection, through the version guard), never during it.

MongoDB alone would give that: a rename waits for the writes in flight on both
collections. SecantusDB, the server of the tests and of `payments dev`, moves the rows
under its storage lock while a write to `payments` holds only that collection's lock:
a guarded upsert that lands mid-rename finds neither the old document nor the rebuilt
one's unique-index entry, and inserts a second document for the order that the
`orderId` index does not know, so no later write ever replaces it. A loaded run kept
the last few orders of a rebuild beside live writes one or two versions behind.

The lock belongs to the event store, which the live projection and the rebuild
command both use, and goes with its holder's transaction or process: a crash leaves
nothing to expire.

- PostgreSQL: a transaction-level advisory lock in a transaction of the store's pool.
- A SQLite file: `flock` on a file beside it (one machine, like the store).
- A store in memory: a lock of this process (no other process can see the store).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL

from application.ledger import PaymentLedger
from infrastructure.effects.reconcile_lock import advisory_key

SWAP_LOCK_NAME = "payments.view-swap"


class ViewSwapLock(Protocol):
    """Both methods block until the lock is theirs."""

    def writing(self) -> AbstractContextManager[None]:
        """Held, shared with other writers, while a batch writes its documents and position."""
        ...

    def swapping(self) -> AbstractContextManager[None]:
        """Held alone while a rebuilt collection replaces the live one."""
        ...


class PostgresSwapLock:
    """`pg_advisory_xact_lock[_shared]` in a transaction of the store's own pool, so no
    connection of its own; released when that transaction ends, even by a crash."""

    def __init__(self, datastore: PostgresDatastore, key: int) -> None:
        self._datastore = datastore
        self._key = key

    def writing(self) -> AbstractContextManager[None]:
        return self._held("pg_advisory_xact_lock_shared")

    def swapping(self) -> AbstractContextManager[None]:
        return self._held("pg_advisory_xact_lock")

    @contextmanager
    def _held(self, function: str) -> Iterator[None]:
        # The transaction idles while MongoDB works: the pool's idle-in-transaction
        # timeout would end the session, and the lock with it, under a slow rename.
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
            cursor.execute(SQL("SELECT {}(%s)").format(SQL(function)), (self._key,))
            yield


class FileSwapLock:
    """`flock` on a file beside a SQLite store; each hold opens the file anew, so threads of
    one process exclude each other as other processes do."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def writing(self) -> AbstractContextManager[None]:
        return self._held(fcntl.LOCK_SH)

    def swapping(self) -> AbstractContextManager[None]:
        return self._held(fcntl.LOCK_EX)

    @contextmanager
    def _held(self, mode: int) -> Iterator[None]:
        with self.path.open("ab") as file:  # closing it releases the lock
            fcntl.flock(file.fileno(), mode)
            yield


class ProcessSwapLock:
    """Within one process; a waiting swap goes before writers that come after it."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._writers = 0
        self._swapping = False
        self._swaps_waiting = 0

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: not self._swapping and not self._swaps_waiting)
            self._writers += 1
        try:
            yield
        finally:
            with self._changed:
                self._writers -= 1
                self._changed.notify_all()

    @contextmanager
    def swapping(self) -> Iterator[None]:
        with self._changed:
            self._swaps_waiting += 1
            self._changed.wait_for(lambda: not self._swapping and not self._writers)
            self._swaps_waiting -= 1
            self._swapping = True
        try:
            yield
        finally:
            with self._changed:
                self._swapping = False
                self._changed.notify_all()


IN_MEMORY = ProcessSwapLock()


def swap_lock_for(ledger: PaymentLedger) -> ViewSwapLock:
    """The lock of `ledger`'s event store, the same in every process that opens it."""
    env = ledger.env
    datastore = getattr(ledger.recorder, "datastore", None)
    if isinstance(datastore, PostgresDatastore):
        schema = env.get("POSTGRES_SCHEMA") or "public"
        namespace = f"{env.get('POSTGRES_DBNAME') or ''}.{schema}"
        return PostgresSwapLock(datastore, advisory_key(namespace, SWAP_LOCK_NAME))
    dbname = env.get("SQLITE_DBNAME") or ":memory:"
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.sqlite" or _in_memory(dbname):
        return IN_MEMORY
    return FileSwapLock(Path(f"{os.fspath(dbname)}.view-swap.lock"))


def _in_memory(dbname: str) -> bool:
    return dbname == ":memory:" or dbname.startswith("file::memory:") or "mode=memory" in dbname
