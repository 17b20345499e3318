"""Reads of a SQLite store on connections of their own, never queued behind a write.

eventsourcing hands out a file store's connections through one queue ("fairness"):
a thread that wants to write holds that queue while it waits for the one writer's
turn, so every read asked for meanwhile (a webhook's load, a status fallback, an
effect worker's load) waited for the write in progress, its disk flush and the write
queued after it, although SQLite's write-ahead log lets readers run beside a writer.
Its pool also keeps 5 connections and closes the others after each use, and each of
its connections caches one prepared statement: under the service's concurrency most
reads opened a connection and prepared their query again. Here reads
(`transaction(commit=False)`) take an idle connection of their own, or open one; up to
`READERS_KEPT` are kept. Writes go through eventsourcing's pool and its one-writer
lock as before. A reader sees what was committed before its first read, as before.
In-memory stores keep eventsourcing's pool alone: their readers and writer must
exclude each other.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from eventsourcing.persistence import InterfaceError
from eventsourcing.sqlite import SQLITE3_DEFAULT_LOCK_TIMEOUT, SQLiteConnection, SQLiteDatastore

# Idle read connections kept open: enough for the service's blocking threads that read at once.
READERS_KEPT = 32
STATEMENTS_CACHED = 32  # per connection (sqlite3's default; eventsourcing asks for 1)


class _GetConnection(Protocol):
    def __call__(self, *, commit: bool) -> AbstractContextManager[SQLiteConnection]: ...


class SqliteReaders:
    """Replaces `datastore.get_connection` for reads, and closes its connections with the store."""

    def __init__(self, datastore: SQLiteDatastore) -> None:
        self._datastore = datastore
        self._writers: _GetConnection = datastore.get_connection
        self._close_writers = datastore.close
        self._db_name = datastore.pool.db_name
        self._timeout = datastore.pool.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT
        self._idle: list[SQLiteConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    def install(self) -> None:
        """Only for a file (in WAL mode, as eventsourcing opens files)."""
        if self._datastore.pool.is_sqlite_memory_mode:
            return
        self._datastore.get_connection = self.get_connection  # type: ignore[method-assign]
        self._datastore.close = self.close  # type: ignore[method-assign]

    @contextmanager
    def get_connection(self, *, commit: bool) -> Iterator[SQLiteConnection]:
        if commit:
            with self._writers(commit=True) as connection:
                yield connection
            return
        connection = self._take()
        try:
            yield connection
        finally:
            self._give(connection)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
        self._close_writers()

    def _take(self) -> SQLiteConnection:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        return connection if connection is not None else self._connect()

    def _give(self, connection: SQLiteConnection) -> None:
        with self._lock:
            kept = not self._closed and len(self._idle) < READERS_KEPT
            if kept:
                self._idle.append(connection)
        if not kept:
            connection.close()

    def _connect(self) -> SQLiteConnection:
        try:
            connection = sqlite3.connect(
                self._db_name,
                uri=True,
                check_same_thread=False,
                isolation_level=None,  # eventsourcing's transactions BEGIN themselves
                cached_statements=STATEMENTS_CACHED,
                timeout=self._timeout,
            )
        except sqlite3.Error as error:
            raise InterfaceError(error) from error
        connection.row_factory = sqlite3.Row
        return SQLiteConnection(sqlite_conn=connection, max_age=None)
