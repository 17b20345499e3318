"""A background worker that only one process per event store runs at a time.

The others stand by, asking for the lock every `poll_seconds`; when the holder ends
(its PostgreSQL session or its process goes, and the lock with it) one of them takes
over. Used for the MongoDB status projection: every process could run it safely (the
view's version guard refuses what another already wrote), but N copies read every event
N times and send N times the writes, all but one refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

from infrastructure.effects.reconcile_lock import Leadership

log = logging.getLogger(__name__)
POLL_SECONDS = 5.0


class Worker(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class LeaderOnly:
    """Runs a fresh `make()` worker while this process holds `leadership`, none otherwise."""

    def __init__(
        self,
        name: str,
        make: Callable[[], Worker],
        leadership: Leadership,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.name = name
        self._make = make
        self._leadership = leadership
        self._poll = poll_seconds
        self.running: Worker | None = None
        self._last: Worker | None = None  # the one it ran last, maybe still in its stop
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Takes the lead at once if it is free; then keeps asking, or checking it still holds."""
        self._stop = asyncio.Event()
        await self._step()
        self._task = asyncio.create_task(self._watch(), name=f"leader-only:{self.name}")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self._give_up()

    def still_running(self) -> bool:
        """Whether the worker it ran has a thread still running (see `LogFollower.stop`)."""
        still = getattr(self.running or self._last, "still_running", None)
        return bool(still and still())

    async def _watch(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self._poll)
            if not self._stop.is_set():
                await self._step()

    async def _step(self) -> None:
        try:
            if self.running is None:
                if await asyncio.to_thread(self._leadership.try_acquire):
                    await self._lead()
            elif not await asyncio.to_thread(self._leadership.still_held):
                log.warning("lock lost; stopping here", extra={"worker": self.name})
                await self._give_up()
        except Exception as error:
            log.warning(
                "leader-only worker: lock or start failed; asking again",
                extra={"worker": self.name, "error": f"{type(error).__name__}: {error}"},
            )

    async def _lead(self) -> None:
        worker = self._last = self._make()
        try:
            await worker.start()
        except BaseException:
            await asyncio.to_thread(self._leadership.release)  # another process may run it
            raise
        self.running = worker
        log.info("this process now runs it", extra={"worker": self.name})

    async def _give_up(self) -> None:
        worker, self.running = self.running, None
        try:
            if worker is not None:
                await worker.stop()
        finally:
            await asyncio.to_thread(self._leadership.release)
