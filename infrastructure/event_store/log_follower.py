"""The one way the service follows the payments log: from a tracked position, in batches.

Consumers (the effects-queue feeder, the MongoDB status projection, the
reconciliation's index of open payments) own their position and store it with
whatever they write for a batch, so a crash between two batches neither loses a
notification nor matters when the batch is read again. The follower only reads
and hands over:

- in the foreground, `catch_up()` reads until the log is exhausted (the
  `projections rebuild` command, a one-off reconciliation);
- in the background, `start()` follows for the process's lifetime on the event
  loop: woken by this process's own saves (`PaymentLedger.add_listener`), by
  other processes' saves on PostgreSQL (the recorder's `NOTIFY` on every insert),
  and otherwise by a poll; errors back off with jitter and resume from the
  consumer's stored position.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import psycopg
from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

from application.ledger import PaymentLedger
from infrastructure.effects.backoff import Backoff
from infrastructure.event_store.store import postgres_conninfo

log = logging.getLogger(__name__)
Progress = Callable[[int], None]


class LogConsumer(Protocol):
    """Something kept up to date from the log; every method may block on its database."""

    name: str

    def position(self) -> int:
        """The last notification id it has consumed (0 before the first)."""
        ...

    def consume(self, notifications: Sequence[Notification]) -> None:
        """Takes a batch in log order and stores its new position with its writes."""
        ...


@dataclass(frozen=True, slots=True)
class FollowerTimings:
    """How often to look without a wake-up, how much to read at once, how to back off,
    and how long `stop()` waits for a batch in hand."""

    poll_interval: float = 1.0
    batch_size: int = 500
    backoff: Backoff = field(default_factory=Backoff)
    stop_timeout: float = 10.0
    # At most one pass over the log this often, however many saves wake it: what arrives
    # meanwhile is read in one batch (the projection writes a payment's document once for
    # its paid event and its confirmation, rather than once each).
    coalesce: float = 0.0


class LogFollower:
    """Feeds one consumer from the ledger's notification log."""

    def __init__(
        self,
        ledger: PaymentLedger,
        consumer: LogConsumer,
        timings: FollowerTimings | None = None,
        topics: Sequence[str] = (),
    ) -> None:
        self._ledger = ledger
        self._consumer = consumer
        self._timings = timings or FollowerTimings()
        self._topics = tuple(topics)
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._rng = random.Random()  # noqa: S311 - jitter, not secrets

    # -- foreground -----------------------------------------------------------

    def catch_up(self, on_progress: Progress | None = None, until: int | None = None) -> int:
        """Consumes every notification after the consumer's position; returns how many.

        With `until`, stops at the first batch that reaches that id: a log written faster
        than it is read would otherwise keep the caller reading for ever."""
        position = self._consumer.position()
        consumed = 0
        while (until is None or position < until) and (batch := self._read_after(position)):
            self._consumer.consume(batch)
            position = batch[-1].id
            consumed += len(batch)
            if on_progress is not None:
                on_progress(position)
        return consumed

    # -- background -----------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ledger.add_listener(self._on_saved)
        name = self._consumer.name
        self._tasks = [asyncio.create_task(self._follow(), name=f"follow:{name}")]
        channel = _notify_channel(self._ledger)
        if channel is not None:
            self._tasks.append(asyncio.create_task(self._listen(*channel), name=f"listen:{name}"))

    async def stop(self) -> bool:
        """Lets the batch in hand finish (its position is stored with it), then returns True.

        False if that batch is still in a call after `stop_timeout` (a database that
        stopped answering): its thread runs on, so the caller must leave open what it uses.
        """
        self._stop.set()
        self._ledger.remove_listener(self._on_saved)
        for task in self._tasks[1:]:
            task.cancel()
        if self._tasks:
            done, late = await asyncio.wait(self._tasks, timeout=self._timings.stop_timeout)
            for task in done:
                with contextlib.suppress(asyncio.CancelledError):
                    task.result()
            if late:
                log.error(
                    "log follower did not stop in time; its connections are left open",
                    extra={
                        "consumer": self._consumer.name,
                        "timeoutSeconds": self._timings.stop_timeout,
                        "alert": True,
                    },
                )
                return False
        self._tasks = []
        return True

    def still_running(self) -> bool:
        """True while following, and after `stop()` while a late batch is still in its call."""
        return any(not task.done() for task in self._tasks)

    def _on_saved(self, notification_id: int) -> None:
        """Called by the ledger from whatever thread saved: look at the log now."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is shutting down
                loop.call_soon_threadsafe(self._wake.set)

    async def _follow(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                await asyncio.to_thread(self._drain)
                failures = 0
            except Exception as error:
                delay = self._timings.backoff.delay(failures, self._rng)
                failures += 1
                log.warning(
                    "following the log failed; resuming from the stored position",
                    extra={"consumer": self._consumer.name, "error": _named(error)},
                )
                await self._pause(delay)
                continue
            if self._timings.coalesce > 0:
                await self._pause_listening(self._timings.coalesce)  # wake-ups wait
            await self._pause(self._timings.poll_interval)

    def _drain(self) -> None:
        # Cleared before reading, so a save that lands during the read still wakes us.
        self._wake.clear()
        position = self._consumer.position()
        while not self._stop.is_set() and (batch := self._read_after(position)):
            self._consumer.consume(batch)
            position = batch[-1].id

    async def _pause(self, seconds: float) -> None:
        waiters = [asyncio.create_task(self._stop.wait()), asyncio.create_task(self._wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _listen(self, conninfo: str, channel: str) -> None:
        """Wakes the follower on every other process's save (PostgreSQL LISTEN/NOTIFY)."""
        failures = 0
        while not self._stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                    conninfo, autocommit=True
                ) as connection:
                    await connection.execute(SQL("LISTEN {}").format(Identifier(channel)))
                    failures = 0
                    async for _ in connection.notifies():
                        self._wake.set()
            except psycopg.Error as error:
                log.warning(
                    "cannot listen for new events; polling meanwhile",
                    extra={"consumer": self._consumer.name, "error": _named(error)},
                )
            await self._pause_listening(self._timings.backoff.delay(failures, self._rng))
            failures += 1

    async def _pause_listening(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    def _read_after(self, position: int) -> Sequence[Notification]:
        return self._ledger.recorder.select_notifications(
            position, self._timings.batch_size, topics=self._topics, inclusive_of_start=False
        )


def _notify_channel(ledger: PaymentLedger) -> tuple[str, str] | None:
    """Where a PostgreSQL recorder announces its inserts; None for SQLite (this process only)."""
    recorder = ledger.recorder
    if not isinstance(recorder, PostgresApplicationRecorder):
        return None
    conninfo = postgres_conninfo(ledger.env, "payments-log-follower")
    return conninfo, recorder.channel_name


def _named(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
