"""The status view's swap lock: writers share it, a swap holds it alone, in every kind of store
(a PostgreSQL or SQLite file store, as two processes would open it, and a store in memory)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager

import pytest

from application.ledger import PaymentLedger
from infrastructure.event_store.store import event_store_env
from infrastructure.mongo.swap_lock import (
    FileSwapLock,
    PostgresSwapLock,
    ProcessSwapLock,
    ViewSwapLock,
    swap_lock_for,
)

SHORT = 0.3  # long enough for a lock that is free to be taken


class Holder:
    """Another thread that takes `hold` as soon as it can, and keeps it until released."""

    def __init__(self, hold: AbstractContextManager[None]) -> None:
        self.taken, self._release = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._hold, args=(hold,), daemon=True)
        self._thread.start()

    def _hold(self, hold: AbstractContextManager[None]) -> None:
        with hold:
            self.taken.set()
            self._release.wait(30)

    def has_it_within(self, seconds: float = SHORT) -> bool:
        return self.taken.wait(seconds)

    def release(self) -> None:
        self._release.set()
        self._thread.join(timeout=30)
        assert self.taken.is_set() and not self._thread.is_alive()


@pytest.fixture
def two_openers(store_url: str) -> Iterator[tuple[ViewSwapLock, ViewSwapLock]]:
    """The locks of one store as two processes (the service, the rebuild command) get them."""
    with (
        PaymentLedger(event_store_env(store_url)) as first,
        PaymentLedger(event_store_env(store_url)) as second,
    ):
        yield swap_lock_for(first), swap_lock_for(second)


def test_the_store_decides_the_kind_of_lock(
    two_openers: tuple[ViewSwapLock, ViewSwapLock], store_url: str
) -> None:
    kind = PostgresSwapLock if store_url.startswith("postgres") else FileSwapLock
    assert all(isinstance(lock, kind) for lock in two_openers)
    with PaymentLedger(event_store_env("sqlite:///:memory:")) as in_memory:
        assert isinstance(swap_lock_for(in_memory), ProcessSwapLock)


def test_writers_share_the_lock_and_a_swap_waits_for_them(
    two_openers: tuple[ViewSwapLock, ViewSwapLock],
) -> None:
    service, command = two_openers
    with service.writing():
        other_writer = Holder(service.writing())
        assert other_writer.has_it_within()
        swap = Holder(command.swapping())
        assert not swap.has_it_within()
        other_writer.release()
        assert not swap.has_it_within()
    assert swap.has_it_within(10)
    swap.release()


def test_a_writer_waits_for_a_swap_in_hand(
    two_openers: tuple[ViewSwapLock, ViewSwapLock],
) -> None:
    service, command = two_openers
    with command.swapping():
        writer = Holder(service.writing())
        assert not writer.has_it_within()
    assert writer.has_it_within(10)
    writer.release()


def test_in_memory_a_waiting_swap_goes_before_writers_that_come_after_it() -> None:
    lock = ProcessSwapLock()
    with lock.writing():
        swap = Holder(lock.swapping())
        assert not swap.has_it_within()
        later_writer = Holder(lock.writing())
        assert not later_writer.has_it_within()
    assert swap.has_it_within(10)
    assert not later_writer.has_it_within()
    swap.release()
    assert later_writer.has_it_within(10)
    later_writer.release()
