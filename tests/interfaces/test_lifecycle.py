"""Workers start and stop the same way under `payments serve` and `payments worker`:
whatever fails, what started is stopped, the clients are closed, and nothing a call
still in a thread uses is closed under it."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from eventsourcing.persistence import Notification
from litestar.testing import AsyncTestClient

from application.ledger import PaymentLedger
from infrastructure.event_store.log_follower import FollowerTimings, LogFollower
from infrastructure.mongo.connection import MongoConnection
from infrastructure.mongo.projection_worker import StatusProjectionWorker
from interfaces.app import create_app
from interfaces.cli.worker import run_until_signalled
from interfaces.composition import BackgroundWorker, ServiceGraph, bootstrap
from interfaces.lifecycle import shut_down
from tests.fakes import FakeCheckoutGateway, FakeOrderDirectory, FixedClock, InMemoryStatusView
from tests.service_graph import settings_for_tests

HANG_SECONDS = 20.0


@dataclass
class Worker:
    name: str
    journal: list[str]
    fails_to_start: bool = False
    fails_to_stop: bool = False

    async def start(self) -> None:
        if self.fails_to_start:
            raise RuntimeError(f"{self.name} cannot start")
        self.journal.append(f"start {self.name}")

    async def stop(self) -> None:
        self.journal.append(f"stop {self.name}")
        if self.fails_to_stop:
            raise RuntimeError(f"{self.name} cannot stop")


@dataclass
class Journal:
    entries: list[str] = field(default_factory=list)

    def closer(self, name: str) -> Any:
        async def close() -> None:
            self.entries.append(f"close {name}")

        return close


def graph_on(
    ledger: PaymentLedger,
    journal: Journal,
    monkeypatch: pytest.MonkeyPatch,
    workers: Sequence[BackgroundWorker] = (),
    mongo: MongoConnection | None = None,
) -> ServiceGraph:
    graph = bootstrap(
        settings_for_tests(),
        ledger=ledger,
        orders=FakeOrderDirectory(),
        checkout=FakeCheckoutGateway(),
        status_view=InMemoryStatusView(),
        clock=FixedClock(),
        mongo=mongo,
        workers=workers,
    )
    graph.closers.extend([journal.closer("orders"), journal.closer("stripe")])
    original_close = ledger.close

    def close_ledger() -> None:
        journal.entries.append("close ledger")
        original_close()

    monkeypatch.setattr(ledger, "close", close_ledger)
    return graph


async def test_the_app_stops_what_started_when_a_later_worker_fails_to_start(
    ledger: PaymentLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal()
    workers = [
        Worker("processor", journal.entries),
        Worker("projection", journal.entries, fails_to_start=True),
        Worker("never", journal.entries),
    ]
    graph = graph_on(ledger, journal, monkeypatch, workers)

    with pytest.raises(BaseException) as failure:  # the test client groups startup errors
        async with AsyncTestClient(create_app(graph)):
            pass

    assert "projection cannot start" in str(_leaves(failure.value))

    assert journal.entries == [
        "start processor",
        "stop processor",
        "close orders",
        "close stripe",
        "close ledger",
    ]


async def test_the_worker_command_stops_what_started_when_a_later_worker_fails_to_start(
    ledger: PaymentLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal()
    graph = graph_on(ledger, journal, monkeypatch)
    workers = [
        Worker("processor", journal.entries),
        Worker("reconcile", journal.entries, fails_to_start=True),
    ]

    with pytest.raises(RuntimeError, match="reconcile cannot start"):
        await run_until_signalled(workers, graph)

    assert journal.entries == ["start processor", "stop processor", "close orders",
                               "close stripe", "close ledger"]  # fmt: skip


async def test_a_worker_failing_to_stop_does_not_keep_the_others_running(
    ledger: PaymentLedger, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal()
    graph = graph_on(ledger, journal, monkeypatch)
    workers = [
        Worker("first", journal.entries),
        Worker("second", journal.entries, fails_to_stop=True),
    ]

    with caplog.at_level(logging.ERROR):
        await shut_down(workers, graph)

    assert journal.entries == ["stop second", "stop first", "close orders", "close stripe",
                               "close ledger"]  # fmt: skip
    assert any("failed to stop" in r.getMessage() for r in caplog.records)


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


class HangingConsumer:
    """A view whose database stopped answering: its first call blocks until released."""

    name = "status-view"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def position(self) -> int:
        self.entered.set()
        self.release.wait(HANG_SECONDS)
        return 0

    def consume(self, notifications: Sequence[Notification]) -> None:
        return None


async def test_a_projection_call_that_outlives_stop_keeps_its_client_and_the_ledger_open(
    ledger: PaymentLedger, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal()
    mongo = MongoConnection("mongodb://127.0.0.1:1/paymentdb")
    client_closes: list[bool] = []
    monkeypatch.setattr(mongo, "close", lambda: client_closes.append(True))
    graph = graph_on(ledger, journal, monkeypatch, mongo=mongo)
    projection = StatusProjectionWorker(ledger, mongo.database)
    hanging = HangingConsumer()
    timings = FollowerTimings(poll_interval=3600.0, stop_timeout=0.1)
    projection.follower = LogFollower(ledger, hanging, timings)
    await projection.start()
    try:
        assert await asyncio.to_thread(hanging.entered.wait, HANG_SECONDS)
        with caplog.at_level(logging.ERROR):
            await shut_down([projection], graph)
        assert projection.still_running()
    finally:
        hanging.release.set()

    assert client_closes == []
    assert journal.entries == ["close orders", "close stripe"]
    assert any(getattr(r, "alert", False) for r in caplog.records)
    deadline = asyncio.get_running_loop().time() + HANG_SECONDS
    while projection.still_running():  # let the late call end before the ledger closes
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)
    monkeypatch.undo()
    mongo.close()
