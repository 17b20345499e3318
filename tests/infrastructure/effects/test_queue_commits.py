"""The effects queue's writes are bookkeeping: their commits do not wait for the disk."""

from __future__ import annotations

from uuid import uuid4

from application.ledger import PaymentLedger
from infrastructure.effects.postgres_due_payments import PostgresDuePayments
from infrastructure.effects.queue_for_store import due_payments_for
from infrastructure.effects.sqlite_due_payments import SqliteDuePayments


def test_a_queue_write_commits_without_waiting_for_the_disk(ledger: PaymentLedger) -> None:
    queue = due_payments_for(ledger)
    assert isinstance(queue, SqliteDuePayments | PostgresDuePayments)
    with queue._write() as cursor:
        if isinstance(queue, SqliteDuePayments):
            cursor.execute("PRAGMA synchronous")
            assert int(cursor.fetchone()[0]) == 1  # NORMAL: the WAL is not synced at commit
        else:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()["synchronous_commit"] == "off"
    with ledger.recorder.datastore.transaction(commit=True) as cursor:  # type: ignore[attr-defined]
        if isinstance(queue, SqliteDuePayments):
            cursor.execute("PRAGMA synchronous")
            assert int(cursor.fetchone()[0]) == 2  # the events' writes still wait (FULL)
        else:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()["synchronous_commit"] == "on"


def test_fed_claimed_and_settled_as_before(ledger: PaymentLedger) -> None:
    queue = due_payments_for(ledger)
    payment_id = uuid4()
    queue.feed([payment_id], 7)
    assert queue.position() == 7
    [claim] = queue.claim("worker-a", 10, 60)
    assert claim.payment_id == payment_id
    assert queue.claim("worker-b", 10, 60) == []
    assert queue.settled(claim, "worker-a")
    assert queue.depth().due == 0
