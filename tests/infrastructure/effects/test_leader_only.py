"""LeaderOnly: of the processes on one store, one runs the worker; another takes over when
it stops, on the real locks (a file lock beside SQLite, an advisory lock on PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from application.ledger import PaymentLedger
from infrastructure.effects.leader_only import LeaderOnly
from infrastructure.effects.reconcile_lock import (
    LOCK_NAME,
    PROJECTION_LOCK_NAME,
    leadership_for,
)

POLL = 0.05


@dataclass
class Recorder:
    """A worker that says whether it runs; a fresh one is made at every lead."""

    started: bool = False
    stopped: bool = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    def still_running(self) -> bool:
        return self.started and not self.stopped


def leader_only(ledger: PaymentLedger, made: list[Recorder]) -> LeaderOnly:
    def make() -> Recorder:
        made.append(Recorder())
        return made[-1]

    leadership = leadership_for(ledger.env, PROJECTION_LOCK_NAME)
    return LeaderOnly("status projection", make, leadership, poll_seconds=POLL)


async def eventually(condition: Callable[[], object], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "never happened"
        await asyncio.sleep(POLL)


async def test_one_runs_the_other_stands_by_and_takes_over_when_it_stops(
    ledger: PaymentLedger,
) -> None:
    first_made: list[Recorder] = []
    second_made: list[Recorder] = []
    first, second = leader_only(ledger, first_made), leader_only(ledger, second_made)
    await first.start()
    await second.start()
    try:
        assert first.still_running() and first_made[0].started
        await asyncio.sleep(POLL * 4)
        assert second_made == [] and second.running is None  # standing by

        await first.stop()
        assert first_made[0].stopped and not first.still_running()
        await eventually(lambda: second.running is not None)
        assert second_made[0].started
    finally:
        await first.stop()
        await second.stop()
    assert second_made[0].stopped


async def test_its_lock_is_not_the_reconciliations(ledger: PaymentLedger) -> None:
    reconcile = leadership_for(ledger.env, LOCK_NAME)
    assert await asyncio.to_thread(reconcile.try_acquire)
    made: list[Recorder] = []
    projection = leader_only(ledger, made)
    try:
        await projection.start()
        assert projection.running is not None  # the reconciliation's holder does not block it
    finally:
        await projection.stop()
        await asyncio.to_thread(reconcile.release)


@pytest.mark.parametrize("failures", [1])
async def test_a_lock_that_cannot_be_asked_is_asked_again(
    ledger: PaymentLedger, failures: int
) -> None:
    class Flaky:
        def __init__(self) -> None:
            self.failures = failures

        def try_acquire(self) -> bool:
            if self.failures:
                self.failures -= 1
                raise OSError("lock file cannot be opened")
            return True

        def still_held(self) -> bool:
            return True

        def release(self) -> None:
            return None

    made: list[Recorder] = []

    def make() -> Recorder:
        made.append(Recorder())
        return made[-1]

    projection = LeaderOnly("status projection", make, Flaky(), poll_seconds=POLL)
    await projection.start()
    try:
        assert projection.running is None
        await eventually(lambda: projection.running is not None)
    finally:
        await projection.stop()


async def test_a_worker_that_fails_to_start_gives_the_lock_back(ledger: PaymentLedger) -> None:
    class Broken(Recorder):
        async def start(self) -> None:
            raise ConnectionError("MongoDB client cannot be made")

    broken = LeaderOnly(
        "status projection",
        Broken,
        leadership_for(ledger.env, PROJECTION_LOCK_NAME),
        poll_seconds=60,
    )
    made: list[Recorder] = []
    healthy = leader_only(ledger, made)
    await broken.start()
    try:
        assert broken.running is None
        await healthy.start()
        assert healthy.running is not None  # the lock was given back
    finally:
        await healthy.stop()
        await broken.stop()
