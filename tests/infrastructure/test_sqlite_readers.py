"""Reads of a SQLite store run beside its writes (issue 15): a load never waits for a commit."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from application.ledger import PaymentLedger
from infrastructure.event_store.store import open_ledger
from tests.infrastructure.payment_histories import opened, paid

HELD_SECONDS = 2.0


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[PaymentLedger]:
    with open_ledger(f"sqlite:///{tmp_path / 'payments.db'}") as ledger:
        yield ledger


def test_a_load_is_not_queued_behind_writes_in_progress(ledger: PaymentLedger) -> None:
    opened(ledger, "ord_read")
    datastore = ledger.recorder.datastore  # type: ignore[attr-defined]
    writing, queued = threading.Event(), threading.Event()

    def slow_write() -> None:
        with datastore.transaction(commit=True):
            writing.set()
            time.sleep(HELD_SECONDS)

    def next_write() -> None:
        queued.set()
        with datastore.transaction(commit=True):
            pass

    first = threading.Thread(target=slow_write)
    first.start()
    assert writing.wait(5)
    second = threading.Thread(target=next_write)
    second.start()
    assert queued.wait(5)
    time.sleep(0.1)  # the second writer waits for its turn
    started = time.monotonic()
    payment = ledger.find("ord_read")
    waited = time.monotonic() - started
    first.join(10)
    second.join(10)
    assert payment is not None
    assert waited < HELD_SECONDS / 2


def test_loads_from_many_threads_at_once_see_what_was_committed(ledger: PaymentLedger) -> None:
    order_ids = [f"ord_{n}" for n in range(8)]
    for order_id in order_ids:
        paid(ledger, order_id)
    found: list[int] = []
    lock = threading.Lock()

    def load_all() -> None:
        for order_id in order_ids:
            payment = ledger.find(order_id)
            assert payment is not None
            with lock:
                found.append(payment.version)

    threads = [threading.Thread(target=load_all) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert found == [3] * (40 * len(order_ids))


def test_a_memory_store_keeps_reads_and_writes_apart() -> None:
    with open_ledger("sqlite:///:memory:") as ledger:
        opened(ledger, "ord_mem")
        assert ledger.find("ord_mem") is not None
