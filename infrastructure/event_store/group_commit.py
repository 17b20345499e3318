"""Group commit for a SQLite store: the event writes of concurrent threads share one commit.

Every commit of a SQLite file waits for the disk (an fsync of the write-ahead log,
a few milliseconds here), and SQLite takes one writer at a time, so a process that
saves each webhook, each effect's fact and each new payment in a transaction of its
own is bound by the disk, not by its CPU. Here a thread that saves while another
thread's save is in progress queues its events; the next leader writes everything
queued in one transaction, each save in a savepoint of its own, and commits once:
one fsync for the lot. Each save stays atomic and is refused alone (a savepoint
rolled back), so optimistic concurrency works as before: a conflict raises
`IntegrityError` in the thread that made it, and the others' events are committed.
A save with nobody else waiting is written exactly as before, in its own transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import (
    IntegrityError,
    OperationalError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor


@dataclass(eq=False)
class _Save:
    events: Sequence[StoredEvent]
    kwargs: dict[str, Any]
    woken: threading.Event = field(default_factory=threading.Event)
    finished: bool = False
    result: Sequence[int] | None = None
    error: BaseException | None = None


class GroupCommit:
    """Replaces `recorder.insert_events`: concurrent saves are committed together."""

    def __init__(self, recorder: SQLiteApplicationRecorder) -> None:
        self._recorder = recorder
        self._insert_alone = recorder.insert_events
        self._lock = threading.Lock()
        self._queued: list[_Save] = []
        self._leading = False
        self.commits = 0  # transactions written, and the saves they held (for tests)
        self.saves = 0

    def install(self) -> None:
        self._recorder.insert_events = self.insert_events  # type: ignore[method-assign]

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        save = _Save(stored_events, kwargs)
        with self._lock:
            self._queued.append(save)
            lead = not self._leading
            self._leading = True
        if not lead:
            save.woken.wait()
            lead = not save.finished  # woken to lead the next group
        if lead:
            self._lead()
        if save.error is not None:
            raise save.error
        return save.result

    def _lead(self) -> None:
        with self._lock:
            group, self._queued = self._queued, []
        try:
            self._write(group)
        finally:
            for save in group:
                save.finished = True
                save.woken.set()
            with self._lock:
                if self._queued:
                    self._queued[0].woken.set()  # the first one waiting leads the next group
                else:
                    self._leading = False

    def _write(self, group: list[_Save]) -> None:
        self.commits += 1
        self.saves += len(group)
        if len(group) == 1:
            save = group[0]
            try:
                save.result = self._insert_alone(save.events, **save.kwargs)
            except BaseException as error:
                save.error = error
            return
        try:
            with self._recorder.datastore.transaction(commit=True) as cursor:
                for save in group:
                    self._write_one(cursor, save)
        except BaseException as error:  # the commit failed: none of the group was written
            for save in group:
                if save.error is None:
                    save.result, save.error = None, error

    def _write_one(self, cursor: SQLiteCursor, save: _Save) -> None:
        cursor.execute("SAVEPOINT save")
        try:
            save.result = self._recorder._insert_events(cursor, save.events, **save.kwargs)
        except sqlite3.Error as error:
            cursor.execute("ROLLBACK TO SAVEPOINT save")
            save.error = _as_persistence_error(error)
        cursor.execute("RELEASE SAVEPOINT save")


def _as_persistence_error(error: sqlite3.Error) -> PersistenceError:
    """The error eventsourcing raises for it when a save is written alone."""
    if isinstance(error, sqlite3.IntegrityError):
        return IntegrityError(error)
    if isinstance(error, sqlite3.OperationalError):
        return OperationalError(error)
    return PersistenceError(error)
