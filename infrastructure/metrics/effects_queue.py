"""The effects queue's depth (ADR 0015), read from its table on scrape: one indexed query."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily, Metric

from infrastructure.effects.due_payments import DuePayments


class EffectsQueueSource:
    """`payments_effects_due`, `payments_effects_parked`, `payments_effects_oldest_due_seconds`.

    The queue is shared by every process on the store: each reports the same
    numbers, so alert on `max()` across instances, not `sum()`.
    """

    name = "effects_queue"

    def __init__(self, queue: DuePayments, ttl: float = 5.0) -> None:
        self._queue = queue
        self.ttl = ttl

    def read(self) -> list[Metric]:
        depth = self._queue.depth()
        return [
            GaugeMetricFamily(
                "payments_effects_due",
                "Payments that owe an effect: due now, backing off, or parked",
                value=depth.due,
            ),
            GaugeMetricFamily(
                "payments_effects_parked",
                "Payments whose last effect call was refused (4xx); retried every 5 minutes",
                value=depth.parked,
            ),
            GaugeMetricFamily(
                "payments_effects_oldest_due_seconds",
                "How long the most overdue payment has been due (0 when none is)",
                value=depth.oldest_due_seconds,
            ),
        ]
