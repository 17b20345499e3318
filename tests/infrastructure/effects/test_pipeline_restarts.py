"""The effects pipeline across restarts and under a log that is never idle (real stores).

Ported from the sequential processor's tests: what they checked still holds for the queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from application.ledger import PaymentLedger
from domain.order import OrderStatus
from domain.payment import payment_id_for
from infrastructure.effects.effect_workers import WorkerSettings
from infrastructure.effects.pipeline import effects_pipeline_for
from infrastructure.effects.queue_for_store import due_payments_for
from infrastructure.event_store.store import event_store_env
from tests.fakes import FakeCheckoutGateway, FakeInventory
from tests.infrastructure.effects.queue_world import (
    QUICK,
    QUICK_FOLLOW,
    FlakyOrders,
    Neighbours,
    eventually,
    owes_nothing,
    paid,
)


def drained(ledger: PaymentLedger) -> bool:
    depth = due_payments_for(ledger).depth()
    return depth.due == 0 and depth.parked == 0


async def test_a_restarted_pipeline_repeats_nothing(ledger: PaymentLedger) -> None:
    paid(ledger, "ord_1")
    first = Neighbours()
    pipeline = first.pipeline(ledger)
    await pipeline.start()
    await eventually(owes_nothing(ledger, "ord_1"), "first order confirmed")
    await eventually(lambda: drained(ledger), "queue drained")
    await pipeline.stop()

    second = Neighbours()
    restarted = second.pipeline(ledger)
    await restarted.start()
    try:
        paid(ledger, "ord_2")
        await eventually(owes_nothing(ledger, "ord_2"), "second order confirmed")
        await eventually(lambda: drained(ledger), "queue drained again")
    finally:
        await restarted.stop()

    assert first.orders.calls == [("ord_1", "CONFIRMED")]
    assert second.orders.calls == [("ord_2", "CONFIRMED")]
    # Stored up to the last event that could owe something; the trailing OrderConfirmed,
    # a fact the worker recorded itself, is only read.
    assert due_payments_for(ledger).position() == ledger.last_notification_id() - 1


async def test_a_parked_payment_survives_a_restart_and_is_settled_without_a_new_event(
    ledger: PaymentLedger,
) -> None:
    # E.g. a 401 from the order service: a bad INTERNAL_SERVICE_TOKEN, fixed by a restart.
    misconfigured = Neighbours()
    misconfigured.orders.rejected.add("ord_1")
    paid(ledger, "ord_1")
    pipeline = misconfigured.pipeline(ledger)
    await pipeline.start()
    await eventually(lambda: due_payments_for(ledger).depth().parked == 1, "parked")
    await pipeline.stop()

    fixed = Neighbours()  # its order service accepts the call
    restarted = fixed.pipeline(ledger)
    await restarted.start()
    try:
        await eventually(owes_nothing(ledger, "ord_1"), "settled after the restart")
        await eventually(lambda: drained(ledger), "no longer parked")
    finally:
        await restarted.stop()

    assert fixed.orders.statuses_set == [("ord_1", "CONFIRMED")]
    assert misconfigured.orders.statuses_set == []


@dataclass
class BusyOrders(FlakyOrders):
    """An order service whose every confirmation brings a new paid order into the log."""

    ledger: PaymentLedger | None = None
    generated: int = 0
    limit: int = 0
    when_first_confirmed: int | None = None

    async def set_status(self, order_id: str, status: OrderStatus) -> None:
        await super().set_status(order_id, status)
        if order_id == "ord_1":
            self.when_first_confirmed = self.generated
        if self.ledger is not None and self.generated < self.limit:
            self.generated += 1
            paid(self.ledger, f"ord_busy_{self.generated}")


async def test_a_parked_payment_is_retried_on_its_timer_even_when_the_log_is_never_idle(
    ledger: PaymentLedger,
) -> None:
    # Every confirmation records the next paid order: the log is never idle from here on.
    orders = BusyOrders(rejected={"ord_1"}, ledger=ledger, limit=100_000)
    settings = WorkerSettings(
        concurrency=QUICK.concurrency, lease_seconds=QUICK.lease_seconds,
        poll_interval=QUICK.poll_interval, alert_after=0.0, parked_retry_interval=0.2,
        backoff=QUICK.backoff,
    )  # fmt: skip
    pipeline = effects_pipeline_for(
        ledger, orders, FakeInventory(), FakeCheckoutGateway(), settings, QUICK_FOLLOW
    )
    paid(ledger, "ord_1")
    paid(ledger, "ord_2")
    await pipeline.start()
    try:
        await eventually(lambda: due_payments_for(ledger).depth().parked == 1, "parked")
        await eventually(lambda: orders.generated > 10, "busy")
        orders.rejected.clear()
        await eventually(lambda: orders.when_first_confirmed is not None, "parked one settled")
    finally:
        orders.limit = 0
        await pipeline.stop()

    assert orders.when_first_confirmed is not None and orders.when_first_confirmed < 100_000
    assert owes_nothing(ledger, "ord_1")()


def test_parked_payments_and_their_reasons_are_kept_in_the_event_stores_database(
    store_url: str,
) -> None:
    one, two = payment_id_for("ord_1"), payment_id_for("ord_2")
    with PaymentLedger(event_store_env(store_url)) as ledger:
        queue = due_payments_for(ledger)
        queue.feed([one, two], 2)
        for claim in queue.claim("w", 10, 5.0):
            queue.park(claim, "w", 3600.0, f"order service answered 401 for {claim.payment_id}")
        assert queue.retry_parked_now() == 2
        for claim in queue.claim("w", 10, 5.0):
            if claim.payment_id == one:
                assert queue.settled(claim, "w")  # settled on its retry
            else:
                queue.park(claim, "w", 3600.0, "order service answered 404")

    with PaymentLedger(event_store_env(store_url)) as reopened:
        queue = due_payments_for(reopened)
        assert queue.depth().parked == 1
        assert queue.claim("w", 10, 5.0) == []  # parked: not due before its timer
        assert queue.retry_parked_now() == 1
        [claim] = queue.claim("w", 10, 5.0)

    assert (claim.payment_id, claim.parked_reason) == (two, "order service answered 404")
