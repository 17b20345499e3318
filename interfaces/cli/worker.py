"""`payments worker`: the effects queue and the reconciliation sweep, no HTTP API.

For deployments with several API replicas: run workers beside them. Any number
may run on one store; they all claim due payments, none leads (ADR 0015). Its
metrics are served on `METRICS_PORT` (9100; 0: none).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from interfaces.cli.startup import StartupFailed, add_env_file_option, starting

if TYPE_CHECKING:
    from interfaces.composition import BackgroundWorker, ServiceGraph


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "worker", help="drain the effects queue: order, inventory and Stripe calls (no HTTP)"
    )
    add_env_file_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so `payments --help` needs neither the adapters nor their clients.
    from infrastructure.metrics.metrics_port import MetricsPort  # noqa: PLC0415
    from interfaces.composition import bootstrap  # noqa: PLC0415

    try:
        with starting("worker", args.env_file) as settings:
            graph = bootstrap(settings)
            # Only what runs here is built: the projection, the effects queue and the
            # reconciliation sweep (as under `payments serve`), never the HTTP side.
            workers = list(graph.workers)
    except StartupFailed as failure:
        return failure.report()
    if settings.metrics_port:
        workers.insert(0, MetricsPort(graph.metrics.registry, settings.metrics_port))
    try:
        import uvloop  # noqa: PLC0415 - the loop the API runs on too (ADR 0019)
    except ImportError:  # a platform without it (Windows)
        asyncio.run(run_until_signalled(workers, graph))
    else:
        uvloop.run(run_until_signalled(workers, graph))
    return 0


async def run_until_signalled(workers: Sequence[BackgroundWorker], graph: ServiceGraph) -> None:
    """Starts the workers, waits for SIGTERM or SIGINT, then stops them in reverse order."""
    from interfaces.lifecycle import running  # noqa: PLC0415

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with running(graph, workers):
        await stop.wait()
