"""Starting and stopping the background workers, then closing what they used.

One helper for the two ways the service runs: the app lifespan (`payments serve`)
and `payments worker`. Whatever happens, the workers that started are stopped in
reverse order and the graph's closers run: a worker that fails to start, or to stop,
does not leave the others running or their connections open.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Protocol, runtime_checkable

from interfaces.composition import BackgroundWorker, ServiceGraph

log = logging.getLogger(__name__)


@runtime_checkable
class MayOutliveStop(Protocol):
    """A worker whose thread may still be running after `stop()` (it timed out joining it)."""

    def still_running(self) -> bool: ...


@asynccontextmanager
async def running(
    graph: ServiceGraph, workers: Sequence[BackgroundWorker] | None = None
) -> AsyncIterator[None]:
    """Starts `workers` (default: `graph.workers`) for the body; always shuts down after."""
    started: list[BackgroundWorker] = []
    try:
        for worker in graph.workers if workers is None else workers:
            await worker.start()
            started.append(worker)
        yield
    finally:
        await shut_down(started, graph)


async def shut_down(started: Sequence[BackgroundWorker], graph: ServiceGraph) -> None:
    """Stops `started` in reverse order, runs the closers, closes the stores.

    A failure of one step is logged and the next steps still run. The stores (the
    ledger and the MongoDB client) are left open if a worker's thread outlived its stop:
    closing them under a live reader would only trade a clean shutdown for errors (the
    process is exiting anyway).
    """
    lingering: list[str] = []
    for worker in reversed(started):
        try:
            await worker.stop()
        except Exception:
            log.exception("a background worker failed to stop", extra=_named(worker))
        if isinstance(worker, MayOutliveStop) and worker.still_running():
            lingering.append(type(worker).__name__)
    for close in graph.closers:
        try:
            await close()
        except Exception:
            log.exception("closing a client failed", extra={"closer": repr(close)})
    if lingering:
        log.error(
            "event store left open: a worker's thread is still running",
            extra={"workers": lingering, "alert": True},
        )
        return
    graph.close_stores()


def _named(worker: BackgroundWorker) -> dict[str, object]:
    return {"worker": type(worker).__name__}
