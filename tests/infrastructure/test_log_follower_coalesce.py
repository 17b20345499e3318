"""A follower with `coalesce` reads the log at most once per window, however often woken."""

from __future__ import annotations

import asyncio

from application.ledger import PaymentLedger
from infrastructure.effects.backoff import Backoff
from infrastructure.event_store.log_follower import FollowerTimings, LogFollower
from infrastructure.mongo.projection_worker import PROJECTION_TIMINGS
from tests.infrastructure.test_log_follower import RecordingConsumer, all_ids, eventually, tell

WINDOW = 0.5


async def test_saves_within_the_window_are_read_in_one_batch(ledger: PaymentLedger) -> None:
    consumer = RecordingConsumer()
    timings = FollowerTimings(poll_interval=30.0, backoff=Backoff(0.01, 0.05), coalesce=WINDOW)
    follower = LogFollower(ledger, consumer, timings)
    await follower.start()
    try:
        tell(ledger, "ord_first")
        await eventually(lambda: consumer.seen == all_ids(ledger), "the first story")
        first = len(all_ids(ledger))
        for order_id in ("ord_a", "ord_b", "ord_c"):  # each save wakes the follower
            await asyncio.to_thread(tell, ledger, order_id)
        await eventually(lambda: consumer.seen == all_ids(ledger), "the later stories")
    finally:
        await follower.stop()

    later = all_ids(ledger)[first:]
    assert len(later) == 6
    assert consumer.batches[-1] == later  # six saves, each a wake-up, read in one batch


def test_the_status_projection_coalesces_and_the_others_do_not() -> None:
    assert PROJECTION_TIMINGS.coalesce > 0
    assert FollowerTimings().coalesce == 0  # the effects queue's feeder reads at once
