"""A periodic task keeps its schedule through failures and stops when asked."""

from __future__ import annotations

import asyncio

import pytest

from infrastructure.effects.periodic_task import PeriodicTask

INTERVAL = 0.01


async def intervals_pass(count: int) -> None:
    """Returns once a witness task on the same interval has run `count` times: by then any
    task that was still scheduled would have run too (no fixed sleep to guess long enough)."""
    runs = 0
    done = asyncio.Event()

    async def tick() -> None:
        nonlocal runs
        runs += 1
        if runs >= count:
            done.set()

    witness = PeriodicTask("witness", INTERVAL, tick)
    await witness.start()
    try:
        await asyncio.wait_for(done.wait(), timeout=20)
    finally:
        await witness.stop()


async def test_a_failing_run_does_not_end_the_schedule() -> None:
    runs: list[int] = []
    third_run = asyncio.Event()

    async def sweep() -> None:
        runs.append(len(runs))
        if len(runs) == 3:
            third_run.set()
        if len(runs) == 1:
            raise RuntimeError("stripe unreachable")

    task = PeriodicTask("sweep", INTERVAL, sweep)
    await task.start()
    await asyncio.wait_for(third_run.wait(), timeout=20)
    await task.stop()
    after_stop = len(runs)
    await intervals_pass(5)

    assert len(runs) == after_stop


def test_an_interval_must_be_positive() -> None:
    async def nothing() -> None:
        return None

    with pytest.raises(ValueError, match="positive interval"):
        PeriodicTask("sweep", 0, nothing)


async def test_a_guarded_task_runs_only_while_its_guard_allows() -> None:
    runs: list[int] = []
    leading = False
    ran = asyncio.Event()

    async def sweep() -> None:
        runs.append(len(runs))
        ran.set()

    asked = 0

    async def guard() -> bool:
        nonlocal asked
        asked += 1
        return leading

    task = PeriodicTask("sweep", INTERVAL, sweep, only_when=guard)
    await task.start()
    try:
        await intervals_pass(5)
        assert asked > 0  # the guard was asked, and said no
        assert runs == []

        leading = True
        await asyncio.wait_for(ran.wait(), timeout=20)
    finally:
        await task.stop()

    assert runs


async def test_a_guard_that_fails_skips_the_run_and_is_asked_again() -> None:
    asked = 0
    ran = asyncio.Event()

    async def guard() -> bool:
        nonlocal asked
        asked += 1
        if asked == 1:
            raise OSError("lock file unreadable")
        return asked > 2

    async def sweep() -> None:
        ran.set()

    task = PeriodicTask("sweep", INTERVAL, sweep, only_when=guard)
    await task.start()
    try:
        await asyncio.wait_for(ran.wait(), timeout=20)
    finally:
        await task.stop()
