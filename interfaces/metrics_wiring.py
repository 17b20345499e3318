"""What a process reads for Prometheus when it is scraped, registered in its own registry.

Kept apart from the composition root, which only calls `read_on_scrape`: the
instruments updated as the service works (`ServiceMetrics`) are handed to the
adapters there; the readings here ask the databases at scrape time (ADR 0015's
queue, the MongoDB view, the log's head) and the process's own CPU, memory and
file descriptors.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

from application.ledger import PaymentLedger
from infrastructure.effects.due_payments import DuePayments
from infrastructure.metrics.effects_queue import EffectsQueueSource
from infrastructure.metrics.scraped import ScrapedSources, Source
from infrastructure.metrics.status_view import (
    MongoViewReadings,
    PaymentsByStatusSource,
    ProjectionLagSource,
)
from infrastructure.mongo.connection import MongoConnection


def read_on_scrape(
    registry: CollectorRegistry,
    queue: DuePayments,
    ledger: PaymentLedger,
    mongo: MongoConnection | None,
) -> None:
    """Registers the scrape-time readings of this process in `registry`."""
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    sources: list[Source] = [EffectsQueueSource(queue)]
    if mongo is not None:
        view = MongoViewReadings(mongo.database)
        sources += [PaymentsByStatusSource(view), ProjectionLagSource(ledger, view)]
    registry.register(ScrapedSources(sources))
