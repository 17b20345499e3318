"""The effects queue on the real stores (SQLite and PostgreSQL): each payment on its schedule."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from application.fulfilment import SettlePayment
from application.ledger import PaymentLedger
from domain.lifecycle import PaymentStatus
from domain.money import Money
from domain.payment import payment_id_for
from infrastructure.effects.effect_workers import WorkerSettings
from infrastructure.effects.pipeline import EffectsPipeline
from infrastructure.effects.queue_for_store import due_payments_for
from tests.infrastructure.effects.queue_world import (
    QUICK,
    Neighbours,
    eventually,
    expired,
    owes_nothing,
    paid,
    stripe_says,
)

Start = Callable[..., Awaitable[EffectsPipeline]]


@pytest.fixture
def neighbours() -> Neighbours:
    return Neighbours()


@pytest.fixture
async def start(ledger: PaymentLedger, neighbours: Neighbours) -> AsyncIterator[Start]:
    started: list[EffectsPipeline] = []

    async def run(settings: WorkerSettings = QUICK) -> EffectsPipeline:
        pipeline = neighbours.pipeline(ledger, settings)
        await pipeline.start()
        started.append(pipeline)
        return pipeline

    yield run
    for pipeline in started:
        await pipeline.stop()


def alerts(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "alert", False)]


async def test_settles_what_was_recorded_before_it_started(
    ledger: PaymentLedger, neighbours: Neighbours, start: Start
) -> None:
    paid(ledger, "ord_1")
    expired(ledger, "ord_2")

    await start()
    await eventually(owes_nothing(ledger, "ord_1", "ord_2"), "both settled")

    assert sorted(neighbours.orders.statuses_set) == [
        ("ord_1", "CONFIRMED"),
        ("ord_2", "CANCELLED"),
    ]
    assert sorted(neighbours.inventory.releases) == [("ord_2", "prod_a", 2), ("ord_2", "prod_b", 1)]
    await eventually(lambda: due_payments_for(ledger).depth().due == 0, "rows gone")


async def test_settles_payments_recorded_while_it_runs(
    ledger: PaymentLedger, neighbours: Neighbours, start: Start
) -> None:
    await start()
    paid(ledger, "ord_1")

    await eventually(lambda: neighbours.orders.statuses_set != [], "order confirmed")
    assert neighbours.orders.statuses_set == [("ord_1", "CONFIRMED")]


async def test_one_stuck_payment_holds_back_no_other(
    ledger: PaymentLedger, neighbours: Neighbours, start: Start
) -> None:
    neighbours.orders.failing.add("ord_stuck")
    paid(ledger, "ord_stuck")
    await start()
    for order_id in ("ord_a", "ord_b", "ord_c"):
        paid(ledger, order_id)

    await eventually(owes_nothing(ledger, "ord_a", "ord_b", "ord_c"), "the others confirmed", 5.0)
    stuck = ledger.find("ord_stuck")
    assert stuck is not None and not stuck.order_confirmed
    await eventually(
        lambda: neighbours.orders.calls.count(("ord_stuck", "CONFIRMED")) >= 3, "still retried"
    )
    assert not owes_nothing(ledger, "ord_stuck")()

    neighbours.orders.failing.clear()
    await eventually(owes_nothing(ledger, "ord_stuck"), "the stuck one settles once it recovers")
    assert neighbours.orders.statuses_set.count(("ord_stuck", "CONFIRMED")) == 1


async def test_a_failing_service_is_retried_until_it_answers_with_one_alert(
    ledger: PaymentLedger, neighbours: Neighbours, start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    neighbours.orders.failures_left = 4
    paid(ledger, "ord_1")

    with caplog.at_level(logging.WARNING):
        await start()
        await eventually(owes_nothing(ledger, "ord_1"), "order confirmed")

    assert neighbours.orders.statuses_set == [("ord_1", "CONFIRMED")]
    assert len(alerts(caplog)) == 1
    assert alerts(caplog)[0].__dict__["orderId"] == "ord_1"


async def test_a_refused_payment_is_parked_and_the_others_move_on(
    ledger: PaymentLedger, neighbours: Neighbours, start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    neighbours.orders.rejected.add("ord_1")
    paid(ledger, "ord_1")
    paid(ledger, "ord_2")

    with caplog.at_level(logging.WARNING):
        await start()
        await eventually(owes_nothing(ledger, "ord_2"), "the other order confirmed")
        await eventually(lambda: due_payments_for(ledger).depth().parked == 1, "parked")

    assert neighbours.orders.statuses_set == [("ord_2", "CONFIRMED")]
    assert [r.__dict__["orderId"] for r in alerts(caplog)] == ["ord_1"]


async def test_the_refund_is_sent_while_the_inventory_refuses_the_release(
    ledger: PaymentLedger, neighbours: Neighbours, start: Start
) -> None:
    # Another amount than the order's total: the payment fails and the money goes back.
    neighbours.inventory.refused.add("ord_1")
    paid(ledger, "ord_1", Money(100, "usd"))

    await start()
    await eventually(lambda: neighbours.checkout.refunds != [], "refund sent")
    await eventually(lambda: due_payments_for(ledger).depth().parked == 1, "parked on the release")

    payment = ledger.find("ord_1")
    assert payment is not None and payment.status is PaymentStatus.REFUNDED
    assert neighbours.checkout.refunds == [("pi_test_1", Money(100, "usd"), "refund:pi_test_1")]
    assert neighbours.inventory.releases == []
    assert not payment.order_cancelled  # the order is cancelled only after its stock is back


async def test_a_parked_payment_is_settled_when_it_gets_a_new_event(
    ledger: PaymentLedger, neighbours: Neighbours, start: Start
) -> None:
    neighbours.inventory.refused.add("ord_1")
    expired(ledger, "ord_1")
    await start()
    await eventually(lambda: due_payments_for(ledger).depth().parked == 1, "parked")

    neighbours.inventory.refused.clear()
    stripe_says(ledger, "checkout.session.completed", "ord_1")  # late money: a refund is owed

    await eventually(owes_nothing(ledger, "ord_1"), "settled after its new event")
    assert neighbours.orders.statuses_set == [("ord_1", "CANCELLED")]
    assert len(neighbours.checkout.refunds) == 1
    await eventually(lambda: due_payments_for(ledger).depth().due == 0, "row gone")


async def test_a_parked_payment_is_retried_when_a_worker_starts(
    ledger: PaymentLedger, neighbours: Neighbours, start: Start
) -> None:
    neighbours.inventory.refused.add("ord_1")
    expired(ledger, "ord_1")
    first = await start()
    await eventually(lambda: due_payments_for(ledger).depth().parked == 1, "parked")
    await first.stop()

    neighbours.inventory.refused.clear()
    await start()

    await eventually(owes_nothing(ledger, "ord_1"), "settled by the next worker")
    assert neighbours.orders.statuses_set == [("ord_1", "CANCELLED")]


async def test_parked_payments_are_retried_on_their_own_timer(
    ledger: PaymentLedger, neighbours: Neighbours, start: Start
) -> None:
    neighbours.inventory.refused.add("ord_1")
    expired(ledger, "ord_1")
    settings = WorkerSettings(
        concurrency=4, lease_seconds=5.0, poll_interval=0.05, parked_retry_interval=0.3
    )
    await start(settings)
    await eventually(lambda: neighbours.inventory.request_ids >= 2, "parked")

    neighbours.inventory.refused.clear()
    await eventually(owes_nothing(ledger, "ord_1"), "settled on the timer, with no new event")


async def test_the_same_refusal_with_another_request_id_alerts_once(
    ledger: PaymentLedger, neighbours: Neighbours, start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    neighbours.inventory.refused.add("ord_1")
    expired(ledger, "ord_1")
    settings = WorkerSettings(
        concurrency=4, lease_seconds=5.0, poll_interval=0.05, parked_retry_interval=0.05
    )
    with caplog.at_level(logging.WARNING):
        await start(settings)
        await eventually(lambda: neighbours.inventory.request_ids >= 8, "refused again and again")

    assert len(alerts(caplog)) == 1


async def test_effects_recorded_before_a_crash_are_not_performed_again(
    ledger: PaymentLedger, neighbours: Neighbours, start: Start
) -> None:
    paid(ledger, "ord_1")
    died = Neighbours()  # settled the payment, then died before its row went away
    await SettlePayment(ledger, died.orders, died.inventory, died.checkout)(payment_id_for("ord_1"))

    await start()
    await eventually(lambda: due_payments_for(ledger).depth().due == 0, "queue drained")

    assert died.orders.statuses_set == [("ord_1", "CONFIRMED")]
    assert neighbours.orders.calls == []


async def test_two_pipelines_on_one_store_share_the_work_and_do_each_effect_once(
    ledger: PaymentLedger, neighbours: Neighbours, start: Start
) -> None:
    # Calls take a while, as real ones do: one pipeline's workers (8) cannot hold all 40
    # payments at once, so an idle second pipeline finds work (with instant calls, one
    # batch claim could take everything and the sharing would be luck).
    neighbours.orders.latency = 0.05
    one = await start()
    two = await start()
    order_ids = [f"ord_{n}" for n in range(40)]
    for order_id in order_ids:
        paid(ledger, order_id)

    await eventually(owes_nothing(ledger, *order_ids), "all confirmed")
    assert sorted(neighbours.orders.statuses_set) == sorted((o, "CONFIRMED") for o in order_ids)
    assert one.workers.settled > 0 and two.workers.settled > 0  # both did some of the work


def test_the_queue_lives_in_the_event_stores_database(ledger: PaymentLedger) -> None:
    paid(ledger, "ord_1")
    queue = due_payments_for(ledger)
    queue.feed([payment_id_for("ord_1")], ledger.last_notification_id())

    reopened = due_payments_for(ledger)
    assert reopened.position() == ledger.last_notification_id()
    assert [c.payment_id for c in reopened.claim("w", 10, 5.0)] == [payment_id_for("ord_1")]
    assert reopened.claim("other", 10, 5.0) == []  # leased
