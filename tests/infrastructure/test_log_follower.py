"""The log follower on the real stores: every notification once, in order, from the
consumer's own position; woken by saves, not only by its poll; resumes after errors."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence

import psycopg
import pytest
from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder

from application.ledger import PaymentLedger
from infrastructure.effects.backoff import Backoff
from infrastructure.event_store.log_follower import FollowerTimings, LogFollower
from infrastructure.event_store.store import event_store_env
from tests.fixtures.event_store import drop_postgres_schema, fresh_postgres_url
from tests.infrastructure.payment_story import PaymentStory

# A poll this long never fires during a test: anything seen sooner came from a wake-up.
NEVER_POLLS = FollowerTimings(poll_interval=30.0, batch_size=2, backoff=Backoff(0.01, 0.05))
WOKEN_WITHIN = 2.0
WAIT = 20.0
ADMIN = "host=127.0.0.1 port=5432 dbname=test user=postgres"


class RecordingConsumer:
    """Keeps the batches it got and its position, like a view storing both together."""

    name = "recording"

    def __init__(self, stored: int = 0, failures: int = 0) -> None:
        self.stored = stored
        self.failures_left = failures
        self.batches: list[list[int]] = []

    def position(self) -> int:
        return self.stored

    def consume(self, notifications: Sequence[Notification]) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("the view's database is unreachable")
        self.batches.append([n.id for n in notifications])
        self.stored = notifications[-1].id

    @property
    def seen(self) -> list[int]:
        return [n for batch in self.batches for n in batch]


def all_ids(ledger: PaymentLedger) -> list[int]:
    return [n.id for n in ledger.recorder.select_notifications(1, 10_000)]


def tell(ledger: PaymentLedger, *order_ids: str) -> None:
    for order_id in order_ids:
        PaymentStory(ledger, order_id).initiate().paid()


async def eventually(condition: Callable[[], bool], what: str, within: float = WAIT) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.01)


Follow = Callable[..., Awaitable[LogFollower]]


@pytest.fixture
async def following(ledger: PaymentLedger) -> AsyncIterator[Follow]:
    """Starts followers on the test's ledger; stops them all afterwards."""
    started: list[LogFollower] = []

    async def follow(
        consumer: RecordingConsumer, timings: FollowerTimings = NEVER_POLLS
    ) -> LogFollower:
        follower = LogFollower(ledger, consumer, timings)
        await follower.start()
        started.append(follower)
        return follower

    yield follow
    for follower in started:
        await follower.stop()


async def test_a_consumer_sees_every_notification_once_in_order(
    ledger: PaymentLedger, following: Follow
) -> None:
    tell(ledger, "ord_1", "ord_2", "ord_3")
    consumer = RecordingConsumer()

    await following(consumer)
    await eventually(lambda: consumer.seen == all_ids(ledger), "caught up")

    assert all(0 < len(batch) <= NEVER_POLLS.batch_size for batch in consumer.batches)
    assert consumer.stored == ledger.last_notification_id()


def test_catching_up_in_the_foreground_reads_until_the_log_is_exhausted(
    ledger: PaymentLedger,
) -> None:
    tell(ledger, "ord_1", "ord_2", "ord_3")
    consumer = RecordingConsumer()
    reached: list[int] = []

    consumed = LogFollower(ledger, consumer, NEVER_POLLS).catch_up(reached.append)

    assert consumer.seen == all_ids(ledger)
    assert consumed == len(all_ids(ledger))
    assert reached == [batch[-1] for batch in consumer.batches]


async def test_a_restarted_follower_resumes_from_the_consumers_stored_position(
    ledger: PaymentLedger, following: Follow
) -> None:
    tell(ledger, "ord_1")
    consumer = RecordingConsumer()
    first = await following(consumer)
    await eventually(lambda: consumer.seen == all_ids(ledger), "caught up")
    assert await first.stop()
    before_stop = all_ids(ledger)

    tell(ledger, "ord_while_stopped")
    await following(consumer)
    await eventually(lambda: consumer.seen == all_ids(ledger), "caught up again")

    assert consumer.seen == before_stop + all_ids(ledger)[len(before_stop) :]
    assert len(consumer.seen) == len(set(consumer.seen))  # nothing twice


async def test_a_consumer_with_a_stored_position_starts_after_it(
    ledger: PaymentLedger, following: Follow
) -> None:
    tell(ledger, "ord_1", "ord_2")
    ids = all_ids(ledger)
    consumer = RecordingConsumer(stored=ids[1])

    await following(consumer)
    await eventually(lambda: consumer.stored == ids[-1], "caught up")

    assert consumer.seen == ids[2:]


async def test_the_ledgers_own_saves_wake_it_without_waiting_for_its_poll(
    ledger: PaymentLedger, following: Follow
) -> None:
    tell(ledger, "ord_1")
    consumer = RecordingConsumer()
    await following(consumer)
    await eventually(lambda: consumer.seen == all_ids(ledger), "caught up")

    tell(ledger, "ord_new")

    await eventually(lambda: consumer.seen == all_ids(ledger), "woken", within=WOKEN_WITHIN)


async def listening_on(channel: str) -> None:
    """Waits until a follower's LISTEN session on `channel` is open (its last statement)."""

    def listening() -> bool:
        with psycopg.connect(ADMIN) as admin:
            row = admin.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name = 'payments-log-follower' AND query = %s",
                (f'LISTEN "{channel}"',),
            ).fetchone()
        return bool(row and row[0])

    deadline = asyncio.get_running_loop().time() + WAIT
    while not await asyncio.to_thread(listening):
        assert asyncio.get_running_loop().time() < deadline, "never listened"
        await asyncio.sleep(0.05)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    url = fresh_postgres_url()
    yield url
    drop_postgres_schema(url)


@pytest.mark.postgres
async def test_on_postgresql_a_save_by_another_process_wakes_it(postgres_url: str) -> None:
    consumer = RecordingConsumer()
    with (
        PaymentLedger(event_store_env(postgres_url)) as ledger,
        PaymentLedger(event_store_env(postgres_url)) as other_process,
    ):
        follower = LogFollower(ledger, consumer, NEVER_POLLS)
        await follower.start()
        try:
            assert isinstance(ledger.recorder, PostgresApplicationRecorder)
            await listening_on(ledger.recorder.channel_name)

            tell(other_process, "ord_elsewhere")

            await eventually(lambda: consumer.seen == all_ids(ledger), "woken", within=WOKEN_WITHIN)
        finally:
            await follower.stop()


async def test_after_a_consumer_error_it_backs_off_and_resumes_from_the_stored_position(
    ledger: PaymentLedger, following: Follow, caplog: pytest.LogCaptureFixture
) -> None:
    tell(ledger, "ord_1", "ord_2")
    consumer = RecordingConsumer(failures=2)

    with caplog.at_level(logging.WARNING):
        await following(consumer)
        await eventually(lambda: consumer.seen == all_ids(ledger), "resumed")

    failures = [r for r in caplog.records if r.getMessage().startswith("following the log failed")]
    assert [r.__dict__["consumer"] for r in failures] == ["recording", "recording"]
    assert consumer.failures_left == 0


class HangingConsumer(RecordingConsumer):
    """Its database stopped answering: `position()` blocks until released."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def position(self) -> int:
        self.entered.set()
        self.release.wait(WAIT)
        return super().position()


async def test_a_batch_that_does_not_finish_in_time_is_reported_not_waited_for(
    ledger: PaymentLedger, caplog: pytest.LogCaptureFixture
) -> None:
    consumer = HangingConsumer()
    follower = LogFollower(ledger, consumer, FollowerTimings(poll_interval=30.0, stop_timeout=0.1))
    await follower.start()
    assert await asyncio.to_thread(consumer.entered.wait, WAIT)

    with caplog.at_level(logging.ERROR):
        stopped = await follower.stop()

    assert not stopped and follower.still_running()
    assert any(getattr(r, "alert", False) for r in caplog.records)
    consumer.release.set()
    await eventually(lambda: not follower.still_running(), "the late batch ended")
