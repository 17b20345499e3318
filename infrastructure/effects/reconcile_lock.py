"""Which process runs the reconciliation sweep (or the status projection, under a lock of
its own): exactly one per event store at a time.

PostgreSQL: a session advisory lock held on a dedicated connection. The server
drops it the moment that connection ends (process killed, host gone), so a
standby polling `pg_try_advisory_lock` takes over without a lease to expire.

SQLite: the store is a local file, so one machine; an exclusive `flock` on a file
next to it plays the same role between processes (`payments serve` and
`payments worker` on one file), and the OS releases it when the holder dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Protocol

import psycopg

from infrastructure.event_store.store import postgres_conninfo

log = logging.getLogger(__name__)
LOCK_NAME = "payments.reconcile"
PROJECTION_LOCK_NAME = "payments.projection"


class Leadership(Protocol):
    """A claim to be the one process sweeping; every method may block briefly."""

    def try_acquire(self) -> bool:
        """Takes the claim if nobody holds it; True if this worker holds it now."""
        ...

    def still_held(self) -> bool:
        """False once the claim is lost (e.g. the lock's connection broke)."""
        ...

    def release(self) -> None: ...


def advisory_key(namespace: str, lock_name: str = LOCK_NAME) -> int:
    """A signed 64-bit key per store, so schemas sharing a database do not block each other."""
    digest = hashlib.blake2b(f"{namespace}:{lock_name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresAdvisoryLeadership:
    """Holds `pg_try_advisory_lock(key)` on its own autocommit connection."""

    def __init__(self, env: Mapping[str, str], lock_name: str = LOCK_NAME) -> None:
        # Named for the lock (`payments-reconcile`), so pg_stat_activity says who holds what.
        self._conninfo = postgres_conninfo(env, "payments-" + _tail(lock_name))
        dbname = env.get("POSTGRES_DBNAME") or ""
        schema = env.get("POSTGRES_SCHEMA") or "public"
        self.key = advisory_key(f"{dbname}.{schema}", lock_name)
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None

    def try_acquire(self) -> bool:
        try:
            if self._connection is None or self._connection.closed:
                self._connection = psycopg.connect(self._conninfo, autocommit=True)
            row = self._connection.execute(
                "SELECT pg_try_advisory_lock(%s)", (self.key,)
            ).fetchone()
        except psycopg.Error as error:
            log.warning(
                "cannot reach PostgreSQL for the reconciliation lock", extra={"error": str(error)}
            )
            self._drop()
            return False
        return bool(row and row[0])

    def still_held(self) -> bool:
        if self._connection is None or self._connection.closed:
            return False
        try:
            self._connection.execute("SELECT 1")
        except psycopg.Error:
            self._drop()  # the server has released the lock with the session
            return False
        return True

    def release(self) -> None:
        if self._connection is not None and not self._connection.closed:
            # If this fails, closing the session below releases the lock anyway.
            with contextlib.suppress(psycopg.Error):
                self._connection.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
        self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = None


class FileLockLeadership:
    """An exclusive, non-blocking `flock` on a file beside the SQLite store."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        if self._file is not None:
            return True
        file = self.path.open("ab")
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            return False
        self._file = file
        return True

    def still_held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class SoleLeadership:
    """For an in-memory SQLite store: only this process can see it, so it always leads."""

    def try_acquire(self) -> bool:
        return True

    def still_held(self) -> bool:
        return True

    def release(self) -> None:
        return None


def leadership_for(env: Mapping[str, str], lock_name: str = LOCK_NAME) -> Leadership:
    """The leadership that fits the event store described by `event_store_env(...)`."""
    if env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
        return PostgresAdvisoryLeadership(env, lock_name)
    dbname = env.get("SQLITE_DBNAME", ":memory:")
    if dbname == ":memory:" or dbname.startswith("file::memory:"):
        return SoleLeadership()
    return FileLockLeadership(Path(f"{os.fspath(dbname)}.{_tail(lock_name)}.lock"))


def _tail(lock_name: str) -> str:
    return lock_name.removeprefix("payments.")
