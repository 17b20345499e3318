"""A periodic task keeps its schedule through failures and stops when asked."""

from __future__ import annotations

import asyncio

import pytest

from infrastructure.periodic_task import PeriodicTask


async def test_a_failing_run_does_not_end_the_schedule() -> None:
    runs: list[int] = []
    third_run = asyncio.Event()

    async def sweep() -> None:
        runs.append(len(runs))
        if len(runs) == 3:
            third_run.set()
        if len(runs) == 1:
            raise RuntimeError("stripe unreachable")

    task = PeriodicTask("sweep", 0.01, sweep)
    await task.start()
    await asyncio.wait_for(third_run.wait(), timeout=20)
    await task.stop()
    after_stop = len(runs)
    await asyncio.sleep(0.05)

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

    task = PeriodicTask("sweep", 0.01, sweep, only_when=lambda: leading)
    await task.start()
    try:
        await asyncio.sleep(0.1)
        assert runs == []

        leading = True
        await asyncio.wait_for(ran.wait(), timeout=20)
    finally:
        await task.stop()

    assert runs
