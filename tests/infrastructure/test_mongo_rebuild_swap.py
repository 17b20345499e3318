"""A rebuild swaps its collection in between two batches of the live projection, never
while one is being written: a rename beside a write to `payments` can leave a second,
stale document for an order (SecantusDB renames under its storage lock while writes hold
only the collection's), which no later write replaces."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from pymongo.database import Database

from application.ledger import PaymentLedger
from infrastructure.event_store.log_follower import LogFollower
from infrastructure.event_store.store import event_store_env
from infrastructure.mongo.payment_document import PaymentDocument
from infrastructure.mongo.payment_view import REBUILD_PREFIX, MongoPaymentView, ViewReplaced
from infrastructure.mongo.projection_consumer import StatusViewConsumer
from infrastructure.mongo.projection_rebuild import rebuild
from infrastructure.mongo.status_projection import PaymentStatusProjection
from tests.infrastructure.payment_story import PaymentStory

Document = dict[str, Any]
RENAME_TIME = 0.5  # far more than a rename of a few documents takes


class InThread:
    """Runs `target` in a thread and keeps what it raised, to raise it when joined."""

    def __init__(self, target: Callable[[], None]) -> None:
        self._target = target
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._target()
        except BaseException as error:  # raised again in join
            self._error = error

    def join(self) -> None:
        self._thread.join(timeout=60)
        assert not self._thread.is_alive()
        if self._error is not None:
            raise self._error


def rebuilt_collection_waiting(mongo_db: Database[Document]) -> bool:
    return any(name.startswith(REBUILD_PREFIX) for name in mongo_db.list_collection_names())


def test_a_rebuild_swaps_only_once_the_live_batch_in_hand_is_written(
    ledger: PaymentLedger,
    store_url: str,
    mongo_db: Database[Document],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    PaymentStory(ledger, "ord_before").initiate()
    live = StatusViewConsumer(ledger, PaymentStatusProjection(MongoPaymentView(mongo_db), ledger))
    LogFollower(ledger, live).catch_up()
    paid = PaymentStory(ledger, "ord_paid").initiate()
    paid.paid()
    batch = ledger.recorder.select_notifications(live.position(), 50, inclusive_of_start=False)

    in_hand, written = threading.Event(), threading.Event()
    write = live.projection.view.save_payments

    def slow_write(documents: list[PaymentDocument]) -> None:
        """The live batch's documents are on their way to MongoDB."""
        in_hand.set()
        assert written.wait(30)
        write(documents)

    monkeypatch.setattr(live.projection.view, "save_payments", slow_write)
    at_swap = threading.Event()
    swap_in = MongoPaymentView.swap_in

    def reaching_the_swap(view: MongoPaymentView, *args: Any) -> None:
        at_swap.set()
        swap_in(view, *args)

    monkeypatch.setattr(MongoPaymentView, "swap_in", reaching_the_swap)

    def rebuild_as_the_command_does() -> None:
        with PaymentLedger(event_store_env(store_url)) as own:
            rebuild(own, PaymentStatusProjection(MongoPaymentView(mongo_db), own))

    def live_batch_written() -> None:
        with contextlib.suppress(ViewReplaced):  # the follower resumes from the stored position
            live.consume(batch)

    live_batch = InThread(live_batch_written)
    assert in_hand.wait(10)
    rebuilding = InThread(rebuild_as_the_command_does)
    assert at_swap.wait(30)
    time.sleep(RENAME_TIME)
    not_swapped_while_written = rebuilt_collection_waiting(mongo_db)
    written.set()
    live_batch.join()
    rebuilding.join()

    assert not_swapped_while_written
    assert not rebuilt_collection_waiting(mongo_db)
    LogFollower(ledger, live).catch_up()  # the live projection goes on from the rebuilt view
    documents = list(mongo_db.payments.find({}, {"_id": 0, "orderId": 1, "version": 1}))
    assert sorted((d["orderId"], d["version"]) for d in documents) == [
        ("ord_before", 1),
        ("ord_paid", paid.payment().version),
    ]
    assert live.position() == ledger.last_notification_id()
