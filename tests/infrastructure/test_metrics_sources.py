"""The scrape-time readings on real servers: the effects queue's table (SQLite and PostgreSQL),
the MongoDB view (SecantusDB) and the log's head; cached per `ttl`, and a source that fails
is reported down instead of failing the scrape."""

from __future__ import annotations

import time
from uuid import uuid4

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from application.ledger import PaymentLedger
from domain.effects import CloseCheckout, ConfirmOrder, RefundPayment, ReleaseStock
from domain.money import Money
from infrastructure.effects.queue_for_store import due_payments_for
from infrastructure.metrics.effects_queue import EffectsQueueSource
from infrastructure.metrics.instruments import ServiceMetrics
from infrastructure.metrics.scraped import ScrapedSources, Source
from infrastructure.metrics.status_view import (
    MongoViewReadings,
    PaymentsByStatusSource,
    ProjectionLagSource,
)
from infrastructure.mongo.connection import MongoConnection
from infrastructure.mongo.projection_worker import StatusProjectionWorker
from tests.infrastructure.effects.queue_world import expired, open_payment, paid
from tests.metrics_text import sample


def scraped(*sources: Source) -> str:
    registry = CollectorRegistry()
    registry.register(ScrapedSources(sources))
    return generate_latest(registry).decode()


def test_the_effects_queue_depth_counts_due_and_parked_payments(ledger: PaymentLedger) -> None:
    queue = due_payments_for(ledger)
    source = EffectsQueueSource(queue)
    empty = scraped(source)
    assert sample(empty, "payments_effects_due") == 0
    assert sample(empty, "payments_effects_oldest_due_seconds") == 0

    queue.feed([uuid4(), uuid4(), uuid4()], 3)
    [refused] = queue.claim("worker-a", 1, lease_seconds=30)
    queue.park(refused, "worker-a", delay=300, reason="PATCH /internal/orders/x: HTTP 409")
    time.sleep(0.2)
    text = scraped(source)

    assert sample(text, "payments_effects_due") == 3
    assert sample(text, "payments_effects_parked") == 1
    oldest = sample(text, "payments_effects_oldest_due_seconds")
    assert oldest is not None and 0.1 <= oldest < 60  # the two left due, not the parked one
    assert sample(text, "payments_metric_source_up", source="effects_queue") == 1


class CountingSource:
    """A source that counts its reads, and fails while `failing` is set."""

    name = "counting"
    ttl = 60.0

    def __init__(self) -> None:
        self.reads = 0
        self.failing = False

    def read(self) -> list[Metric]:
        self.reads += 1
        if self.failing:
            raise ConnectionError("database gone")
        return [GaugeMetricFamily("payments_counting", "reads so far", value=self.reads)]


def test_readings_are_cached_for_their_ttl_and_a_failing_source_is_reported_down() -> None:
    now = [0.0]
    source = CountingSource()
    registry = CollectorRegistry()
    registry.register(ScrapedSources([source], clock=lambda: now[0]))

    def scrape() -> str:
        return generate_latest(registry).decode()

    assert sample(scrape(), "payments_counting") == 1
    assert sample(scrape(), "payments_counting") == 1  # within the ttl: not asked again
    now[0] += 61
    source.failing = True
    text = scrape()
    assert sample(text, "payments_counting") is None
    assert sample(text, "payments_metric_source_up", source="counting") == 0
    now[0] += 61
    source.failing = False
    text = scrape()
    assert sample(text, "payments_counting") == 3
    assert sample(text, "payments_metric_source_up", source="counting") == 1


@pytest.fixture
def view(mongo_connection: MongoConnection) -> MongoViewReadings:
    return MongoViewReadings(mongo_connection.database)


def test_projection_lag_and_payments_by_status_from_the_mongodb_view(
    ledger: PaymentLedger, mongo_connection: MongoConnection, view: MongoViewReadings
) -> None:
    paid(ledger, "ord_paid_1")
    paid(ledger, "ord_paid_2")
    expired(ledger, "ord_expired")
    open_payment(ledger, "ord_open")
    time.sleep(0.3)
    lag, statuses = ProjectionLagSource(ledger, view, ttl=0), PaymentsByStatusSource(view, ttl=0)

    behind = scraped(lag, statuses)
    head = ledger.recorder.max_notification_id()
    assert sample(behind, "payments_projection_lag_events") == head
    seconds = sample(behind, "payments_projection_lag_seconds")
    assert seconds is not None and 0.3 <= seconds < 60  # the first event's age
    assert sample(behind, "payments_by_status", status="SUCCESS") == 0  # nothing projected yet

    projection = StatusProjectionWorker(ledger, mongo_connection.database)
    projection.follower.catch_up()
    caught_up = scraped(lag, statuses)

    assert sample(caught_up, "payments_projection_lag_events") == 0
    assert sample(caught_up, "payments_projection_lag_seconds") == 0
    by_status = {
        status: sample(caught_up, "payments_by_status", status=status)
        for status in ("INITIATED", "SUCCESS", "FAILED", "REFUNDED")
    }
    assert by_status == {"INITIATED": 1, "SUCCESS": 2, "FAILED": 1, "REFUNDED": 0}


def test_a_mongodb_that_does_not_answer_is_a_source_down_not_a_failed_scrape(
    ledger: PaymentLedger,
) -> None:
    nowhere = MongoConnection("mongodb://127.0.0.1:9/paymentdb")
    unreachable = MongoViewReadings(nowhere.database, timeout_ms=200)
    try:
        text = scraped(
            ProjectionLagSource(ledger, unreachable), PaymentsByStatusSource(unreachable)
        )
    finally:
        nowhere.close()
    assert sample(text, "payments_metric_source_up", source="projection") == 0
    assert sample(text, "payments_metric_source_up", source="payments_by_status") == 0
    assert sample(text, "payments_projection_lag_events") is None


def test_effect_and_stripe_calls_are_labelled_by_neighbour_effect_and_error() -> None:
    metrics = ServiceMetrics()
    metrics.effect_called(ConfirmOrder("o"), "done", 0.02)
    metrics.effect_called(ReleaseStock("o", "p", 1), "refused", 0.01)
    metrics.effect_called(CloseCheckout("o", "cs"), "failed", 1.5)
    metrics.effect_called(RefundPayment("o", "pi", Money(100, "usd")), "done", 0.3)
    metrics.stripe_call("refund", 0.3, None)
    metrics.stripe_call("refund", 2.0, "APIConnectionError")
    text = generate_latest(metrics.registry).decode()

    def calls(neighbour: str, effect: str, outcome: str) -> float | None:
        return sample(
            text, "payments_effect_calls_total", neighbour=neighbour, effect=effect, outcome=outcome
        )

    assert calls("order", "confirm_order", "done") == 1
    assert calls("inventory", "release_stock", "refused") == 1
    assert calls("stripe", "close_checkout", "failed") == 1
    assert calls("stripe", "refund", "done") == 1
    seconds = "payments_effect_call_duration_seconds_count"
    assert sample(text, seconds, neighbour="stripe", effect="close_checkout") == 1
    assert sample(text, "payments_stripe_call_duration_seconds_count", operation="refund") == 2
    errors = "payments_stripe_call_errors_total"
    assert sample(text, errors, operation="refund", error="APIConnectionError") == 1
