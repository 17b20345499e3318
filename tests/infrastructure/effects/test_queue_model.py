"""Model-based test of the effects queue: whatever the interleaving, no owed payment is lost.

Hypothesis drives any order of new events (the feeder), claims by two workers,
settles, failures, refusals and workers dying; after every step a payment with
an event that no finished settle covered still has its row, and no payment is
held by two live claims.
"""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory
from uuid import UUID, uuid5

from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from application.ledger import PaymentLedger
from infrastructure.effects.due_payments import TABLE, Claim
from infrastructure.effects.sqlite_due_payments import SqliteDuePayments
from infrastructure.event_store.store import event_store_env

PAYMENTS = [uuid5(UUID(int=0), f"ord_{n}") for n in range(3)]
WORKERS = ["w1", "w2"]


class QueueModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._dir = TemporaryDirectory()
        self.ledger = PaymentLedger(event_store_env(f"sqlite:///{Path(self._dir.name) / 'q.db'}"))
        self.queue = SqliteDuePayments(self.datastore)
        self.position = 0
        self.fed = dict.fromkeys(PAYMENTS, 0)  # events per payment so far
        self.covered = dict.fromkeys(PAYMENTS, 0)  # events a finished settle has handled
        self.held: dict[UUID, tuple[str, Claim, int]] = {}  # claim, and the events it saw

    def teardown(self) -> None:
        self.ledger.close()
        self._dir.cleanup()

    @rule(payment=st.sampled_from(PAYMENTS))
    def new_event(self, payment: UUID) -> None:
        self.position += 1
        self.fed[payment] += 1
        self.queue.feed([payment], self.position)

    @rule(worker=st.sampled_from(WORKERS), limit=st.integers(1, 3))
    def claim(self, worker: str, limit: int) -> None:
        for claim in self.queue.claim(worker, limit, lease_seconds=1000):
            assert claim.payment_id not in self.held, "claimed while another worker holds it"
            self.held[claim.payment_id] = (worker, claim, self.fed[claim.payment_id])

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def settle(self, data: st.DataObject) -> None:
        payment = data.draw(st.sampled_from(sorted(self.held)))
        worker, claim, seen = self.held.pop(payment)
        if self.queue.settled(claim, worker):
            assert self.fed[payment] == seen, "a row with a newer event was deleted"
        self.covered[payment] = max(self.covered[payment], seen)

    @precondition(lambda self: self.held)
    @rule(data=st.data(), refused=st.booleans())
    def fail(self, data: st.DataObject, refused: bool) -> None:
        payment = data.draw(st.sampled_from(sorted(self.held)))
        worker, claim, _ = self.held.pop(payment)
        if refused:
            self.queue.park(claim, worker, 0.0, "HTTP 409 req_1")
        else:
            self.queue.retry_later(claim, worker, 0.0, "HTTP 503", alerted=False)

    @rule(worker=st.sampled_from(WORKERS))
    def worker_dies(self, worker: str) -> None:
        # Its leases lapse: modelled as released, the rows stay for the others.
        self.queue.release(worker)
        for payment in [p for p, (w, _, _) in self.held.items() if w == worker]:
            del self.held[payment]

    @property
    def datastore(self) -> SQLiteDatastore:
        recorder = self.ledger.recorder
        assert isinstance(recorder, SQLiteApplicationRecorder)
        return recorder.datastore

    @invariant()
    def every_owed_payment_has_its_row(self) -> None:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT payment_id FROM {TABLE}")
            queued = {UUID(row["payment_id"]) for row in cursor.fetchall()}
        for payment in PAYMENTS:
            if self.fed[payment] > self.covered[payment]:
                assert payment in queued, f"{payment} owes and has no row"

    @invariant()
    def the_feed_position_is_the_last_fed(self) -> None:
        assert self.queue.position() == self.position


TestQueueModel = QueueModel.TestCase
TestQueueModel.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
