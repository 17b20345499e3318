"""Readings taken when Prometheus scrapes, not kept up to date as the service works.

A reading asks a database (the effects queue's table, the MongoDB view, the
event store's log head), so each is cached for its own `ttl`: however many
scrapers there are, a source is asked at most once per `ttl` per process. A
source that fails keeps its metrics out of the answer and reports
`payments_metric_source_up{source=…} 0`, so an alert can tell "no data" from "zero".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)


class Source(Protocol):
    """One database's readings; `read` may block briefly and may raise."""

    name: str
    ttl: float

    def read(self) -> list[Metric]: ...


class _Reading:
    def __init__(self) -> None:
        self.metrics: list[Metric] = []
        self.ok = False
        self.taken_at: float | None = None
        self.lock = threading.Lock()


class ScrapedSources(Collector):
    """Collects every source's (cached) readings, and whether each could be read."""

    def __init__(
        self, sources: Sequence[Source], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._sources = list(sources)
        self._clock = clock
        self._readings = {source.name: _Reading() for source in self._sources}

    def describe(self) -> Iterable[Metric]:
        return []  # registering must not reach the databases

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "payments_metric_source_up",
            "1 if the source of scrape-time readings answered, 0 if not",
            labels=["source"],
        )
        for source in self._sources:
            reading = self._fresh(source)
            yield from reading.metrics
            up.add_metric([source.name], 1.0 if reading.ok else 0.0)
        yield up

    def _fresh(self, source: Source) -> _Reading:
        reading = self._readings[source.name]
        with reading.lock:  # one read at a time; concurrent scrapes share it
            now = self._clock()
            if reading.taken_at is not None and now - reading.taken_at < source.ttl:
                return reading
            try:
                reading.metrics, reading.ok = source.read(), True
            except Exception as error:
                log.warning(
                    "metrics source unavailable",
                    extra={"source": source.name, "error": f"{type(error).__name__}: {error}"},
                )
                reading.metrics, reading.ok = [], False
            reading.taken_at = self._clock()
            return reading
