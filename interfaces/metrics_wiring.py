"""What a process reads for Prometheus when it is scraped, registered in its own registry.

Kept apart from the composition root, which only calls `read_on_scrape`: the
instruments updated as the service works (`ServiceMetrics`) are handed to the
adapters there; the readings here ask the databases at scrape time (ADR 0015's
queue, the MongoDB view, the log's head) and the process's own CPU, memory and
file descriptors.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from prometheus_client import PlatformCollector, ProcessCollector

from infrastructure.effects.due_payments import DuePayments
from infrastructure.metrics.effects_queue import EffectsQueueSource
from infrastructure.metrics.scraped import ScrapedSources, Source
from infrastructure.metrics.status_view import (
    MongoViewReadings,
    PaymentsByStatusSource,
    ProjectionLagSource,
)

if TYPE_CHECKING:
    from interfaces.composition import Services


def read_on_scrape(services: Services, queue: DuePayments, mongodb_uri: str | None) -> None:
    """Registers the scrape-time readings of this process in `services.metrics.registry`."""
    registry = services.metrics.registry
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    sources: list[Source] = [EffectsQueueSource(queue)]
    if mongodb_uri:
        view = MongoViewReadings(mongodb_uri)
        sources += [PaymentsByStatusSource(view), ProjectionLagSource(services.ledger, view)]
        services.closers.append(lambda: asyncio.to_thread(view.close))
    registry.register(ScrapedSources(sources))
