"""The reconciliation sweep (issue 7) is part of the service graph: `payments serve`
alone runs it, `payments worker` runs it once, and only the process holding its lock."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest

from infrastructure.effects.periodic_task import PeriodicTask
from infrastructure.effects.reconcile_lock import FileLockLeadership
from infrastructure.settings import Settings
from interfaces.cli import worker as worker_command
from interfaces.composition import RECONCILE_TASK, BackgroundWorker, ServiceGraph, bootstrap
from interfaces.lifecycle import running


def settings_on(tmp_path: Path) -> Settings:
    return Settings(
        jwt_secret="j" * 32,
        stripe_webhook_secret="whsec_test",
        event_store_url=f"sqlite:///{tmp_path / 'payments.db'}",
        reconcile_interval_seconds=1,
    )


def reconcile_tasks(workers: Sequence[BackgroundWorker]) -> list[PeriodicTask]:
    return [w for w in workers if isinstance(w, PeriodicTask) and w.name == RECONCILE_TASK]


def lock_beside(tmp_path: Path) -> FileLockLeadership:
    """The lock another process on the same SQLite file would take."""
    return FileLockLeadership(Path(f"{tmp_path / 'payments.db'}.reconcile.lock"))


def swept(caplog: pytest.LogCaptureFixture) -> bool:
    # Without STRIPE_SECRET_KEY, the sweep's Stripe listing is refused and logged.
    return any(r.getMessage() == "stripe is not configured" for r in caplog.records)


async def test_the_served_graph_reconciles_once_it_holds_the_lock(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    graph = bootstrap(settings_on(tmp_path))
    assert len(reconcile_tasks(graph.workers)) == 1

    with caplog.at_level(logging.INFO):
        async with running(graph):
            deadline = asyncio.get_running_loop().time() + 20
            while not swept(caplog):
                assert asyncio.get_running_loop().time() < deadline, "the sweep never ran"
                await asyncio.sleep(0.05)
            assert not lock_beside(tmp_path).try_acquire()  # this process holds it

    after_stop = lock_beside(tmp_path)
    assert after_stop.try_acquire()  # given back on shutdown
    after_stop.release()


async def test_a_process_without_the_lock_does_not_reconcile(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    refusals = 0
    try_acquire = FileLockLeadership.try_acquire

    def counted(self: FileLockLeadership) -> bool:
        nonlocal refusals
        held = try_acquire(self)
        refusals += not held
        return held

    monkeypatch.setattr(FileLockLeadership, "try_acquire", counted)
    graph = bootstrap(settings_on(tmp_path))
    other_process = lock_beside(tmp_path)
    assert other_process.try_acquire()
    try:
        with caplog.at_level(logging.INFO):
            async with running(graph):
                deadline = asyncio.get_running_loop().time() + 20
                # Asked at every turn of the schedule: three refusals span two whole intervals.
                while refusals < 3:
                    assert asyncio.get_running_loop().time() < deadline, "never asked"
                    await asyncio.sleep(0.05)
    finally:
        other_process.release()

    assert not swept(caplog)


def test_the_worker_command_runs_the_graphs_sweep_not_a_second_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MONGODB_URI", "STRIPE_SECRET_KEY", "STRIPE_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "JWT_SECRET": "j" * 32,
        "STRIPE_WEBHOOK_SECRET": "whsec_test",
        "EVENT_STORE_URL": f"sqlite:///{tmp_path / 'payments.db'}",
    }.items():
        monkeypatch.setenv(name, value)
    started: list[Sequence[BackgroundWorker]] = []
    graphs: list[ServiceGraph] = []

    async def capture(workers: Sequence[BackgroundWorker], graph: ServiceGraph) -> None:
        started.append(workers)
        graphs.append(graph)
        async with running(graph, []):
            pass

    monkeypatch.setattr(worker_command, "run_until_signalled", capture)
    monkeypatch.setattr("infrastructure.structured_logging.configure_logging", lambda level: None)

    assert worker_command.run(argparse.Namespace(env_file=tmp_path / "none.env")) == 0

    assert len(reconcile_tasks(started[0])) == 1
    # It builds what it runs, not the HTTP side (`cached_property` keeps what was built).
    built = set(vars(graphs[0]))
    assert {"workers", "reconcile", "settle_payment"} <= built
    assert not built & {"create_checkout_session", "get_payment_status", "get_payment_history",
                        "status_view", "webhook_signature", "probes"}  # fmt: skip
