"""Starts children in order, waits for each to be ready, watches them, stops them in reverse."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from interfaces.dev_stack.children import ChildSpec, RunningChild

POLL_SECONDS = 0.1


class StackError(Exception):
    """The stack could not be brought up or kept up; the message names the child."""

    def __init__(self, child: RunningChild, reason: str) -> None:
        super().__init__(f"{child.spec.name} {reason}; its log: {child.log_path}")
        self.child = child


class ChildExited(StackError):
    """A child ended on its own."""


class ChildNotReady(StackError):
    """A child kept running but never answered its readiness probe."""


class StartInterrupted(Exception):
    """Asked to stop (Ctrl-C, SIGTERM) before every child was ready."""


class Supervisor:
    """Owns the running children; `stop_all` leaves none behind."""

    def __init__(
        self,
        log_dir: Path,
        stopping: threading.Event,
        echo: IO[str] | None = None,
        ready_timeout: float = 60.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.log_dir = log_dir
        self.stopping = stopping
        self.echo = echo
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.children: list[RunningChild] = []

    def start(self, plan: Sequence[ChildSpec]) -> None:
        """Start each child once the previous one is ready (each needs the ones before)."""
        for spec in plan:
            child = RunningChild(spec, self.log_dir / f"{spec.name}.log", self.echo)
            self.children.append(child)
            self._wait_until_ready(child)

    def _wait_until_ready(self, child: RunningChild) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while not child.spec.ready():
            if self.stopping.is_set():
                raise StartInterrupted(child.spec.name)
            code = child.exit_code()
            if code is not None:
                raise ChildExited(child, f"exited with code {code} while starting")
            if time.monotonic() > deadline:
                raise ChildNotReady(child, f"not ready after {self.ready_timeout:.0f} s")
            self.stopping.wait(POLL_SECONDS)

    def watch(self) -> None:
        """Block until asked to stop; raise `ChildExited` if a child ends first."""
        while not self.stopping.wait(POLL_SECONDS * 2):
            for child in self.children:
                code = child.exit_code()
                if code is not None:
                    raise ChildExited(child, f"exited with code {code}")

    def stop_all(self) -> None:
        """Dependents first: the shop before the service, the service before its stores."""
        while self.children:
            self.children.pop().stop(self.stop_timeout)
