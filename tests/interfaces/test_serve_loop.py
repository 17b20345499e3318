"""`payments serve` on uvicorn runs uvloop with enough threads for the blocking calls."""

from __future__ import annotations

import asyncio
import threading

import uvloop

from interfaces.cli.serve import BLOCKING_CALL_THREADS, uvloop_with_threads


def test_the_loop_is_uvloop_with_a_pool_for_blocking_calls() -> None:
    loop = uvloop_with_threads()
    try:
        assert isinstance(loop, uvloop.Loop)
        names = loop.run_until_complete(_names_of_threads_used(BLOCKING_CALL_THREADS))
        assert len(names) == BLOCKING_CALL_THREADS  # all at once: no call waits for a thread
        assert all(name.startswith("blocking") for name in names)
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


async def _names_of_threads_used(calls: int) -> set[str]:
    everyone_in = threading.Barrier(calls, timeout=10)

    def blocking_call() -> str:
        everyone_in.wait()
        return threading.current_thread().name

    return set(await asyncio.gather(*(asyncio.to_thread(blocking_call) for _ in range(calls))))
