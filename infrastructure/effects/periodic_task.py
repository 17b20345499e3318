"""A job the worker repeats at a fixed interval (e.g. issue 7's reconciliation sweep)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)
GUARD_POLL_SECONDS = 5.0


class PeriodicTask:
    """Runs `action` every `interval` seconds until stopped; a failing run is logged, not fatal.

    Starts and stops like the app's other background workers, so `payments serve`
    and `payments worker` can both carry it. With `only_when`, a run is skipped while
    it answers False (e.g. "this process holds the reconciliation lock"), and it is
    asked again every few seconds, so a process that just took the lock runs the task soon.
    """

    def __init__(
        self,
        name: str,
        interval: float,
        action: Callable[[], Awaitable[object]],
        *,
        only_when: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"periodic task {name} needs a positive interval, got {interval}")
        self.name = name
        self.interval = interval
        self._action = action
        self._only_when = only_when
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._repeat(), name=f"periodic:{self.name}")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _repeat(self) -> None:
        while not self._stop.is_set():
            if self._only_when is not None and not await self._allowed(self._only_when):
                await self._pause(min(self.interval, GUARD_POLL_SECONDS))
                continue
            try:
                await self._action()
            except Exception as error:
                log.exception(
                    "periodic task failed; next run as scheduled",
                    extra={"task": self.name, "error": f"{type(error).__name__}: {error}"},
                )
            await self._pause(self.interval)

    async def _allowed(self, only_when: Callable[[], Awaitable[bool]]) -> bool:
        """The guard's answer; one that fails (e.g. the lock file cannot be opened) is a no."""
        try:
            return await only_when()
        except Exception as error:
            log.warning(
                "periodic task guard failed; run skipped",
                extra={"task": self.name, "error": f"{type(error).__name__}: {error}"},
            )
            return False

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)
