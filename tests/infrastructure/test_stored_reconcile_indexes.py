"""The reconciliation's indexes keep their rows and position in the store's database
(SQLite and PostgreSQL): a new index on the same store, as after a restart, answers
the same and reads only the notifications stored after its position (issue 15)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Generic
from uuid import UUID

import pytest
from eventsourcing.persistence import Notification

from application.apply_stripe_event import ApplyStripeEvent
from application.index_rows import Fold, IndexRow, IndexRows, Row
from application.ledger import PaymentLedger
from application.open_payments import OpenPayment, OpenPayments
from application.stripe_events import decode_stripe_event
from application.unsettled_money_back import Reported, UnsettledMoneyBackPayments
from domain.lifecycle import FailedPaymentPolicy
from domain.payment import payment_id_for
from infrastructure.event_store.index_rows_for_store import index_rows_for
from infrastructure.event_store.index_tables import POSITIONS_TABLE, ROWS_TABLE
from infrastructure.event_store.log_follower import FollowerTimings, LogFollower
from infrastructure.event_store.open_payments_index import FollowedOpenPayments
from infrastructure.event_store.store import event_store_env
from infrastructure.event_store.unsettled_money_back_index import FollowedUnsettledMoneyBack
from tests.infrastructure.payment_story import PaymentStory
from tests.stripe_payloads import dispute_event, encode


class CountingRows(Generic[Row]):
    """The store's rows, counting the notifications handed over and those folded in."""

    def __init__(self, rows: IndexRows[Row]) -> None:
        self._rows = rows
        self.handed = 0
        self.folded = 0
        self._lock = threading.Lock()

    def position(self) -> int:
        return self._rows.position()

    def fold(self, notifications: Sequence[Notification], fold: Fold[Row]) -> None:
        self.handed += len(notifications)

        def counted(known: Row | None, notification: Notification) -> Row | None:
            with self._lock:
                self.folded += 1
            return fold(known, notification)

        self._rows.fold(notifications, counted)

    def advance(self, position: int) -> None:
        self._rows.advance(position)

    def rows(self) -> list[IndexRow[Row]]:
        return self._rows.rows()

    def replace(self, payment_id: UUID, version: int, value: Row | None) -> bool:
        return self._rows.replace(payment_id, version, value)


def stored_open_payments(ledger: PaymentLedger) -> CountingRows[OpenPayment]:
    return CountingRows(index_rows_for(ledger, OpenPayments.name, OpenPayment))


def orders_of(payments: list[OpenPayment]) -> list[str]:
    return sorted(payment.order_id for payment in payments)


def opened(ledger: PaymentLedger, *order_ids: str) -> list[PaymentStory]:
    return [PaymentStory(ledger, order_id).initiate() for order_id in order_ids]


@pytest.fixture
def neighbour(store_url: str) -> Iterator[PaymentLedger]:
    """A second process's ledger on the same store."""
    other = PaymentLedger(event_store_env(store_url))
    yield other
    other.close()


def test_a_new_index_answers_the_same_and_reads_only_what_came_after(
    ledger: PaymentLedger,
) -> None:
    first, _, _ = opened(ledger, "ord_1", "ord_2", "ord_3")
    PaymentStory(ledger, "ord_2").paid()
    before_restart = FollowedOpenPayments(ledger).refresh()
    assert orders_of(before_restart) == ["ord_1", "ord_3"]
    position = ledger.last_notification_id()

    opened(ledger, "ord_4")
    first.paid()  # closed after the restart
    rows = stored_open_payments(ledger)
    restarted = FollowedOpenPayments(ledger, rows)

    assert rows.position() == position  # loaded, not 0
    assert orders_of(restarted.refresh()) == ["ord_3", "ord_4"]
    assert rows.handed == 2  # ord_4's Initiated and ord_1's Succeeded, nothing older
    assert rows.position() == ledger.last_notification_id()
    assert [p for p in restarted.refresh() if p.order_id == "ord_3"] == [
        p for p in before_restart if p.order_id == "ord_3"
    ]
    assert rows.handed == 2


def test_a_payment_closed_after_the_restart_leaves_the_index(ledger: PaymentLedger) -> None:
    stories = opened(ledger, "ord_1", "ord_2")
    assert orders_of(FollowedOpenPayments(ledger).refresh()) == ["ord_1", "ord_2"]

    restarted = FollowedOpenPayments(ledger)
    stories[1].stripe("checkout.session.expired")

    assert orders_of(restarted.refresh()) == ["ord_1"]
    assert orders_of(FollowedOpenPayments(ledger).refresh()) == ["ord_1"]


def test_a_store_written_before_the_index_tables_is_filled_once(
    ledger: PaymentLedger, store_url: str
) -> None:
    opened(ledger, *(f"ord_{n}" for n in range(1, 8)))
    PaymentStory(ledger, "ord_5").paid()
    assert not tables_exist(ledger, store_url)

    rows = stored_open_payments(ledger)
    assert tables_exist(ledger, store_url)
    assert rows.position() == 0
    assert len(FollowedOpenPayments(ledger, rows).refresh()) == 6
    assert rows.handed == 8  # every opening and closing event, once

    again = stored_open_payments(ledger)
    assert len(FollowedOpenPayments(ledger, again).refresh()) == 6
    assert again.handed == 0


def test_the_position_stays_with_the_rows_written_for_it(ledger: PaymentLedger) -> None:
    opened(ledger, "ord_1", "ord_2")
    FollowedOpenPayments(ledger).refresh()
    rows = index_rows_for(ledger, OpenPayments.name, OpenPayment)
    versions = {row.value.order_id: row.version for row in rows.rows()}

    assert max(versions.values()) == rows.position()
    assert rows.replace(payment_id_for("ord_1"), versions["ord_1"] + 1, None) is False
    assert rows.replace(payment_id_for("ord_1"), versions["ord_1"], None) is True
    assert [row.value.order_id for row in rows.rows()] == ["ord_2"]


def test_two_processes_catching_up_at_once_fold_each_notification_once(
    ledger: PaymentLedger, neighbour: PaymentLedger
) -> None:
    stories = opened(ledger, *(f"ord_{n:03}" for n in range(120)))
    for story in stories[::3]:
        story.paid()
    counters = [stored_open_payments(ledger), stored_open_payments(neighbour)]
    small_batches = FollowerTimings(batch_size=7)
    followers = [
        LogFollower(store, OpenPayments(store, rows), small_batches, topics=OpenPayments.topics)
        for store, rows in zip((ledger, neighbour), counters, strict=True)
    ]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def catch_up(follower: LogFollower) -> None:
        start.wait()
        try:
            follower.catch_up()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=catch_up, args=(f,)) for f in followers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(c.folded for c in counters) == 160  # 120 opened, 40 paid: each folded once
    assert counters[0].position() == ledger.last_notification_id()
    expected = sorted(s.order_id for s in stories if s not in stories[::3])
    assert orders_of([row.value for row in counters[1].rows()]) == expected


def test_unsettled_money_back_is_kept_across_a_restart(ledger: PaymentLedger) -> None:
    story = PaymentStory(ledger, "ord_1").initiate()
    story.stripe("checkout.session.completed", payment_intent="pi_test_1")
    dispute(ledger, "charge.dispute.created", "needs_response")
    listed = FollowedUnsettledMoneyBack(ledger).refresh()
    assert [[d.stripe_id for d in u.disputes] for u in listed] == [["dp_1"]]

    rows = CountingRows(index_rows_for(ledger, UnsettledMoneyBackPayments.name, Reported))
    restarted = FollowedUnsettledMoneyBack(ledger, rows)
    assert restarted.refresh() == listed
    assert rows.handed == 0
    assert all(row.value.confirmed is not None for row in rows.rows())  # not loaded again

    dispute(ledger, "charge.dispute.closed", "won")
    assert restarted.refresh() == []
    assert rows.handed == 1
    assert FollowedUnsettledMoneyBack(ledger).refresh() == []


def test_an_index_whose_events_are_rare_starts_after_the_last_event_it_looked_past(
    ledger: PaymentLedger,
) -> None:
    story = PaymentStory(ledger, "ord_1").initiate()
    story.paid()
    story.order_confirmed()
    assert FollowedUnsettledMoneyBack(ledger).refresh() == []

    rows = CountingRows(index_rows_for(ledger, UnsettledMoneyBackPayments.name, Reported))
    assert rows.position() == ledger.last_notification_id()  # not 0: no report came yet
    opened(ledger, "ord_2")
    assert FollowedUnsettledMoneyBack(ledger, rows).refresh() == []
    assert rows.position() == ledger.last_notification_id()


def dispute(ledger: PaymentLedger, event_type: str, status: str) -> None:
    event = decode_stripe_event(encode(dispute_event(event_type, "dp_1", status)))
    ApplyStripeEvent(ledger, FailedPaymentPolicy.CANCEL).apply(event, "ord_1")


def tables_exist(ledger: PaymentLedger, store_url: str) -> bool:
    datastore = ledger.recorder.datastore  # type: ignore[attr-defined]
    names = (ROWS_TABLE, POSITIONS_TABLE)
    with datastore.transaction(commit=False) as cursor:
        if store_url.startswith("sqlite"):
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)", names
            )
        else:
            cursor.execute(
                "SELECT table_name AS name FROM information_schema.tables "
                "WHERE table_schema = %s AND table_name IN (%s, %s)",
                (datastore.schema, *names),
            )
        found = {row["name"] for row in cursor.fetchall()}
    return found == set(names)
