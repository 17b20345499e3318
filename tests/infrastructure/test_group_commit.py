"""Group commit on SQLite: concurrent saves share one transaction, each refused alone."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from application.ledger import PaymentConflict, PaymentLedger
from domain.money import Money
from domain.payment import Payment
from infrastructure.event_store.group_commit import GroupCommit
from infrastructure.event_store.store import open_ledger
from tests.infrastructure.payment_histories import opened

SAVES = 6


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[PaymentLedger]:
    with open_ledger(f"sqlite:///{tmp_path / 'payments.db'}") as ledger:
        yield ledger


def group_of(ledger: PaymentLedger) -> GroupCommit:
    group = ledger.recorder.insert_events.__self__  # type: ignore[attr-defined]
    assert isinstance(group, GroupCommit)
    return group


def held_first_commit(group: GroupCommit, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The first group's write waits for the returned event: the others queue meanwhile."""
    release = threading.Event()
    write = group._write
    first = [True]

    def slow_first(saves: list) -> None:  # type: ignore[type-arg]
        if first[0]:
            first[0] = False
            release.wait(10)
        write(saves)

    monkeypatch.setattr(group, "_write", slow_first)
    return release


def paid(payment: Payment) -> Payment:
    payment.succeed(f"evt_{payment.order_id}", "pi_1", "b@example.com", Money(20498, "usd"))
    return payment


def save_in_threads(ledger: PaymentLedger, payments: list[Payment]) -> list[BaseException | None]:
    errors: list[BaseException | None] = [None] * len(payments)

    def save(index: int) -> None:
        try:
            ledger.record(payments[index])
        except BaseException as error:
            errors[index] = error

    threads = [threading.Thread(target=save, args=(i,)) for i in range(len(payments))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return errors


def test_saves_that_wait_for_a_commit_are_written_together(
    ledger: PaymentLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    payments = [opened(ledger, f"ord_{n}") for n in range(SAVES)]
    group = group_of(ledger)
    commits_before, saves_before = group.commits, group.saves
    release = held_first_commit(group, monkeypatch)
    woken: list[int] = []
    ledger.add_listener(woken.append)

    threading.Timer(0.5, release.set).start()
    errors = save_in_threads(ledger, [paid(p) for p in payments])

    assert errors == [None] * SAVES
    assert group.saves - saves_before == SAVES
    assert group.commits - commits_before == 2  # the held one, then all the others at once
    for payment in payments:
        stored = ledger.find(payment.order_id)
        assert stored is not None and stored.version == 2
    assert len(woken) == SAVES and max(woken) == ledger.last_notification_id()


def test_a_conflict_in_a_group_is_refused_alone(
    ledger: PaymentLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    payments = [opened(ledger, f"ord_{n}") for n in range(SAVES)]
    rival = ledger.find("ord_3")
    assert rival is not None
    release = held_first_commit(group_of(ledger), monkeypatch)

    threading.Timer(0.5, release.set).start()
    errors = save_in_threads(ledger, [*(paid(p) for p in payments), paid(rival)])

    conflicts = [e for e in errors if e is not None]
    assert len(conflicts) == 1 and isinstance(conflicts[0], PaymentConflict)
    for payment in payments:
        stored = ledger.find(payment.order_id)
        assert stored is not None and stored.version == 2
    assert ledger.last_notification_id() == 2 * SAVES


def test_a_save_alone_is_written_as_before(ledger: PaymentLedger) -> None:
    group = group_of(ledger)
    opened(ledger, "ord_alone")
    first, second = ledger.find("ord_alone"), ledger.find("ord_alone")
    assert first is not None and second is not None
    before = group.commits
    assert ledger.record(paid(first)) == ledger.last_notification_id()
    assert group.commits == before + 1
    with pytest.raises(PaymentConflict):
        ledger.record(paid(second))
