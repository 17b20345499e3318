"""From recorded events to performed effects: the queue, its feeder and the workers, together."""

from __future__ import annotations

from application.fulfilment import SettlePayment
from application.ledger import PaymentLedger
from application.ports import CheckoutGateway, EffectMeter, Inventory, OrderDirectory
from infrastructure.effects.due_payments import DuePayments
from infrastructure.effects.effect_workers import EffectWorkers, Settle, WorkerSettings
from infrastructure.effects.queue_feeder import EffectsQueueFeeder
from infrastructure.effects.queue_for_store import due_payments_for
from infrastructure.event_store.log_follower import FollowerTimings, LogFollower


class EffectsPipeline:
    """Follows the log into the effects queue and drains it, as one background worker.

    Every process that runs it (each `payments serve` and `payments worker`) both
    feeds and drains: feeding is idempotent (the feed position is locked with the
    rows it writes) and claims never overlap, so no process leads.
    """

    def __init__(
        self,
        ledger: PaymentLedger,
        settle: Settle,
        settings: WorkerSettings | None = None,
        timings: FollowerTimings | None = None,
    ) -> None:
        self.queue: DuePayments = due_payments_for(ledger)
        self.workers = EffectWorkers(self.queue, settle, ledger, settings)
        feeder = EffectsQueueFeeder(ledger, self.queue, on_fed=self.workers.wake)
        self.feeder = LogFollower(ledger, feeder, timings)

    async def start(self) -> None:
        await self.feeder.start()
        await self.workers.start()

    async def stop(self) -> None:
        """Workers finish the calls in flight first; then the feeder stops after its batch."""
        await self.workers.stop()
        await self.feeder.stop()


def effects_pipeline_for(
    ledger: PaymentLedger,
    orders: OrderDirectory,
    inventory: Inventory,
    checkout: CheckoutGateway,
    settings: WorkerSettings | None = None,
    timings: FollowerTimings | None = None,
    meter: EffectMeter | None = None,
) -> EffectsPipeline:
    """The pipeline over these ports; `meter` is told of every effect call."""
    settle = SettlePayment(ledger, orders, inventory, checkout, meter)
    return EffectsPipeline(ledger, settle, settings, timings)
