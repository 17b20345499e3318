"""The processor follows the real event store (SQLite and PostgreSQL) and settles payments once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from application.apply_stripe_event import ApplyStripeEvent
from application.errors import OrderServiceUnavailable, ServiceRejected
from application.fulfilment import SettlePayment
from application.ledger import PaymentLedger
from application.stripe_events import decode_stripe_event
from domain.lifecycle import FailedPaymentPolicy
from domain.payment import Payment, payment_id_for
from infrastructure.effects.backoff import Backoff
from infrastructure.effects.parked_payments import parked_payments_for
from infrastructure.effects.processor_leadership import (
    FileLockLeadership,
    Leadership,
    PostgresAdvisoryLeadership,
    leadership_for,
)
from infrastructure.effects.processor_runner import PaymentProcessor, ProcessorSettings
from infrastructure.event_store.store import event_store_env
from tests.fakes import FakeCheckoutGateway, FakeInventoryLedger, FakeOrderDirectory, an_order
from tests.fixtures.event_store import drop_postgres_schema, fresh_postgres_url
from tests.stripe_payloads import checkout_event, encode

QUICK = ProcessorSettings(
    backoff=Backoff(base=0.01, cap=0.05),
    alert_after=0.0,
    poll_interval=0.05,
    leadership_interval=0.05,
    parked_retry_interval=3600.0,
)


@dataclass
class FlakyOrders(FakeOrderDirectory):
    """An order service that fails a number of times, or rejects some orders outright."""

    failures_left: int = 0
    rejected: set[str] = field(default_factory=set)

    async def set_status(self, order_id: str, status: str) -> None:
        if order_id in self.rejected:
            raise ServiceRejected(f"order service answered 409 for {order_id}")
        if self.failures_left:
            self.failures_left -= 1
            raise OrderServiceUnavailable("order service answered 500")
        await super().set_status(order_id, status)


def open_payment(ledger: PaymentLedger, order_id: str) -> None:
    payment = Payment.initiate(
        an_order(order_id),
        user_email="buyer@example.com",
        checkout_session_id=f"cs_{order_id}",
        checkout_url=f"https://checkout.example/cs_{order_id}",
        expires_at=datetime.now(UTC) + timedelta(minutes=30),
        at=datetime.now(UTC),
    )
    ledger.record(payment)


def stripe_says(ledger: PaymentLedger, event_type: str, order_id: str) -> None:
    payload = checkout_event(event_type, order_id, f"cs_{order_id}")
    ApplyStripeEvent(ledger, FailedPaymentPolicy.CANCEL).apply(decode_stripe_event(encode(payload)))


def paid(ledger: PaymentLedger, order_id: str) -> None:
    open_payment(ledger, order_id)
    stripe_says(ledger, "checkout.session.completed", order_id)


async def eventually(condition: Callable[[], bool], what: str) -> None:
    """Waits for something the processor does in the background (not a speed test)."""
    deadline = asyncio.get_running_loop().time() + 20.0
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)


class Running:
    def __init__(self, ledger: PaymentLedger, leadership: Leadership) -> None:
        self.orders = FlakyOrders()
        self.inventory = FakeInventoryLedger()
        self.checkout = FakeCheckoutGateway()
        settle = SettlePayment(ledger, self.orders, self.inventory, self.checkout)
        self.processor = PaymentProcessor(ledger, settle, leadership, QUICK)


@pytest.fixture
async def running(ledger: PaymentLedger) -> AsyncIterator[Callable[[], Running]]:
    started: list[Running] = []

    def start() -> Running:
        worker = Running(ledger, leadership_for(ledger.env))
        started.append(worker)
        return worker

    yield start
    for worker in started:
        await worker.processor.stop()


async def test_settles_what_was_recorded_before_it_started(
    ledger: PaymentLedger, running: Callable[[], Running]
) -> None:
    paid(ledger, "ord_1")
    open_payment(ledger, "ord_2")
    stripe_says(ledger, "checkout.session.expired", "ord_2")
    worker = running()

    await worker.processor.start()
    await eventually(lambda: worker.processor.position() == ledger.last_notification_id(), "done")

    assert worker.orders.statuses_set == [("ord_1", "CONFIRMED"), ("ord_2", "CANCELLED")]
    assert worker.inventory.releases == [("ord_2", "prod_a", 2), ("ord_2", "prod_b", 1)]


async def test_settles_payments_recorded_while_it_runs(
    ledger: PaymentLedger, running: Callable[[], Running]
) -> None:
    worker = running()
    await worker.processor.start()
    await eventually(lambda: worker.processor.is_active, "leading")

    paid(ledger, "ord_1")

    await eventually(lambda: worker.orders.statuses_set != [], "order confirmed")
    assert worker.orders.statuses_set == [("ord_1", "CONFIRMED")]


async def test_a_restarted_processor_repeats_nothing(
    ledger: PaymentLedger, running: Callable[[], Running]
) -> None:
    paid(ledger, "ord_1")
    first = running()
    await first.processor.start()
    await eventually(lambda: first.processor.position() == ledger.last_notification_id(), "done")
    await first.processor.stop()

    second = running()
    await second.processor.start()
    paid(ledger, "ord_2")
    await eventually(lambda: second.orders.statuses_set != [], "second order confirmed")

    assert first.orders.statuses_set == [("ord_1", "CONFIRMED")]
    assert second.orders.statuses_set == [("ord_2", "CONFIRMED")]


async def test_effects_recorded_before_a_crash_are_not_performed_again(
    ledger: PaymentLedger, running: Callable[[], Running]
) -> None:
    # A worker settled the payment, then died before saving its position.
    paid(ledger, "ord_1")
    died = running()
    await SettlePayment(ledger, died.orders, died.inventory, died.checkout)(payment_id_for("ord_1"))

    worker = running()
    await worker.processor.start()
    await eventually(lambda: worker.processor.position() == ledger.last_notification_id(), "done")

    assert died.orders.statuses_set == [("ord_1", "CONFIRMED")]
    assert worker.orders.statuses_set == []


async def test_a_failing_service_is_retried_until_it_answers_with_an_alert(
    ledger: PaymentLedger, running: Callable[[], Running], caplog: pytest.LogCaptureFixture
) -> None:
    worker = running()
    worker.orders.failures_left = 4
    paid(ledger, "ord_1")

    with caplog.at_level(logging.WARNING):
        await worker.processor.start()
        await eventually(lambda: worker.orders.statuses_set != [], "order confirmed")

    assert worker.orders.statuses_set == [("ord_1", "CONFIRMED")]
    alerts = [r for r in caplog.records if getattr(r, "alert", False)]
    assert len(alerts) == 1
    assert alerts[0].__dict__["orderId"] == "ord_1"


async def test_a_rejected_payment_is_parked_and_the_log_moves_on(
    ledger: PaymentLedger, running: Callable[[], Running], caplog: pytest.LogCaptureFixture
) -> None:
    worker = running()
    worker.orders.rejected.add("ord_1")
    paid(ledger, "ord_1")
    paid(ledger, "ord_2")

    with caplog.at_level(logging.WARNING):
        await worker.processor.start()
        await eventually(lambda: worker.orders.statuses_set != [], "next order confirmed")

    assert worker.orders.statuses_set == [("ord_2", "CONFIRMED")]
    assert payment_id_for("ord_1") in worker.processor.parked
    parked = ledger.find("ord_1")
    assert parked is not None and not parked.order_confirmed
    alerts = [r for r in caplog.records if getattr(r, "alert", False)]
    assert [r.__dict__["orderId"] for r in alerts] == ["ord_1"]


async def test_a_parked_payment_is_settled_when_it_gets_a_new_event(
    ledger: PaymentLedger, running: Callable[[], Running]
) -> None:
    worker = running()
    worker.orders.rejected.add("ord_1")
    open_payment(ledger, "ord_1")
    stripe_says(ledger, "checkout.session.expired", "ord_1")
    await worker.processor.start()
    await eventually(lambda: payment_id_for("ord_1") in worker.processor.parked, "parked")

    worker.orders.rejected.clear()
    stripe_says(ledger, "checkout.session.completed", "ord_1")  # money after cancellation

    await eventually(lambda: worker.processor.parked == {}, "settled")
    assert worker.orders.statuses_set == [("ord_1", "CANCELLED")]
    assert len(worker.checkout.refunds) == 1


async def test_a_parked_payment_survives_a_restart_and_is_settled_without_a_new_event(
    ledger: PaymentLedger, running: Callable[[], Running]
) -> None:
    # E.g. a 401 from the order service: a bad INTERNAL_SERVICE_TOKEN, fixed by a restart.
    first = running()
    first.orders.rejected.add("ord_1")
    paid(ledger, "ord_1")
    await first.processor.start()
    await eventually(lambda: payment_id_for("ord_1") in first.processor.parked, "parked")
    await eventually(lambda: first.processor.position() == ledger.last_notification_id(), "past")
    await first.processor.stop()

    second = running()  # its order service accepts the call
    await second.processor.start()

    await eventually(lambda: second.orders.statuses_set != [], "settled after the restart")
    assert second.orders.statuses_set == [("ord_1", "CONFIRMED")]
    await eventually(lambda: second.processor.parked == {}, "unparked")
    assert parked_payments_for(ledger).all() == {}


@dataclass
class BusyOrders(FlakyOrders):
    """An order service whose every confirmation brings a new paid order into the log."""

    ledger: PaymentLedger | None = None
    generated: int = 0
    limit: int = 0
    when_first_confirmed: int | None = None

    async def set_status(self, order_id: str, status: str) -> None:
        await super().set_status(order_id, status)
        if order_id == "ord_1":
            self.when_first_confirmed = self.generated
        if self.ledger is not None and self.generated < self.limit:
            self.generated += 1
            paid(self.ledger, f"ord_busy_{self.generated}")


async def test_parked_payments_are_retried_on_a_timer_even_when_the_log_is_never_idle(
    ledger: PaymentLedger,
) -> None:
    # Every confirmation records the next paid order: the log is never idle from here on.
    orders = BusyOrders(rejected={"ord_1"}, ledger=ledger, limit=100_000)
    settings = ProcessorSettings(
        backoff=QUICK.backoff, alert_after=0.0, poll_interval=0.05,
        leadership_interval=0.05, parked_retry_interval=0.2,
    )  # fmt: skip
    settle = SettlePayment(ledger, orders, FakeInventoryLedger(), FakeCheckoutGateway())
    processor = PaymentProcessor(ledger, settle, leadership_for(ledger.env), settings)
    paid(ledger, "ord_1")
    paid(ledger, "ord_2")
    await processor.start()
    try:
        await eventually(lambda: payment_id_for("ord_1") in processor.parked, "parked")
        await eventually(lambda: orders.generated > 10, "busy")
        orders.rejected.clear()
        await eventually(lambda: orders.when_first_confirmed is not None, "parked one settled")
    finally:
        orders.limit = 0
        await processor.stop()

    assert orders.when_first_confirmed is not None and orders.when_first_confirmed < 100_000
    assert payment_id_for("ord_1") not in processor.parked


async def test_a_payment_refused_again_on_retry_is_not_alerted_twice(
    ledger: PaymentLedger, caplog: pytest.LogCaptureFixture
) -> None:
    orders = FlakyOrders(rejected={"ord_1"})
    settings = ProcessorSettings(
        backoff=QUICK.backoff, alert_after=0.0, poll_interval=0.05,
        leadership_interval=0.05, parked_retry_interval=0.05,
    )  # fmt: skip
    settle = SettlePayment(ledger, orders, FakeInventoryLedger(), FakeCheckoutGateway())
    processor = PaymentProcessor(ledger, settle, leadership_for(ledger.env), settings)
    paid(ledger, "ord_1")

    with caplog.at_level(logging.WARNING):
        await processor.start()
        try:
            await eventually(
                lambda: sum("stays parked" in r.getMessage() for r in caplog.records) >= 2,
                "retried twice",
            )
        finally:
            await processor.stop()

    alerts = [r for r in caplog.records if getattr(r, "alert", False)]
    assert [r.__dict__["orderId"] for r in alerts] == ["ord_1"]
    assert list(parked_payments_for(ledger).all()) == [payment_id_for("ord_1")]


def test_parked_payments_are_kept_in_the_event_stores_database(store_url: str) -> None:
    with PaymentLedger(event_store_env(store_url)) as ledger:
        parked = parked_payments_for(ledger)
        parked.park(payment_id_for("ord_1"), "order service answered 401")
        parked.park(payment_id_for("ord_2"), "order service answered 403")
        parked.park(payment_id_for("ord_2"), "order service answered 404")
        parked.unpark(payment_id_for("ord_1"))

    with PaymentLedger(event_store_env(store_url)) as reopened:
        assert parked_payments_for(reopened).all() == {
            payment_id_for("ord_2"): "order service answered 404"
        }


async def test_only_one_of_two_workers_on_one_store_is_active(
    ledger: PaymentLedger, running: Callable[[], Running]
) -> None:
    first, second = running(), running()
    await first.processor.start()
    await eventually(lambda: first.processor.is_active, "first leads")
    await second.processor.start()
    for order in ("ord_1", "ord_2", "ord_3"):
        paid(ledger, order)
    await eventually(lambda: len(first.orders.statuses_set) == 3, "all confirmed")

    assert not second.processor.is_active
    await first.processor.stop()
    paid(ledger, "ord_4")

    await eventually(lambda: second.orders.statuses_set != [], "second took over")
    assert second.orders.statuses_set == [("ord_4", "CONFIRMED")]


class LosingLeadership:
    """Leads at first, then loses the claim (its connection broke) for good."""

    def __init__(self, held_checks: int) -> None:
        self.held_checks = held_checks
        self.acquired = 0

    def try_acquire(self) -> bool:
        if self.held_checks <= 0:
            return False  # another worker holds it now
        self.acquired += 1
        return True

    def still_held(self) -> bool:
        self.held_checks -= 1
        return self.held_checks > 0

    def release(self) -> None:
        return None


async def test_a_worker_that_loses_leadership_stops_retrying_effects(
    ledger: PaymentLedger,
) -> None:
    orders = FlakyOrders(failures_left=1_000_000)
    inventory, checkout = FakeInventoryLedger(), FakeCheckoutGateway()
    leadership = LosingLeadership(held_checks=4)
    processor = PaymentProcessor(
        ledger, SettlePayment(ledger, orders, inventory, checkout), leadership, QUICK
    )
    paid(ledger, "ord_1")

    await processor.start()
    try:
        await eventually(lambda: leadership.held_checks <= 0, "leadership lost")
        await eventually(lambda: not processor.is_active, "stood down")
        calls = 1_000_000 - orders.failures_left
        await asyncio.sleep(0.3)  # several backoff periods of QUICK

        assert 1_000_000 - orders.failures_left == calls
        assert leadership.acquired == 1
    finally:
        await processor.stop()


def test_a_sqlite_store_is_locked_by_a_file_beside_it(tmp_path: Path) -> None:
    one = FileLockLeadership(tmp_path / "payments.db.processor.lock")
    two = FileLockLeadership(tmp_path / "payments.db.processor.lock")

    assert one.try_acquire()
    assert not two.try_acquire()
    one.release()
    assert two.try_acquire()
    two.release()


@pytest.mark.postgres
def test_a_standby_takes_over_when_the_holders_session_dies() -> None:
    url = fresh_postgres_url()
    try:
        holder = PostgresAdvisoryLeadership(event_store_env(url))
        standby = PostgresAdvisoryLeadership(event_store_env(url))
        assert holder.try_acquire()
        assert not standby.try_acquire()

        with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres") as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'payments-processor' AND pid IN "
                "(SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)"
            )

        assert not holder.still_held()
        assert standby.try_acquire()
        standby.release()
    finally:
        drop_postgres_schema(url)


def test_stores_in_other_schemas_do_not_share_a_lock() -> None:
    one = event_store_env("postgresql://postgres@127.0.0.1:5432/test?schema=a")
    two = event_store_env("postgresql://postgres@127.0.0.1:5432/test?schema=b")

    assert PostgresAdvisoryLeadership(one).key != PostgresAdvisoryLeadership(two).key
