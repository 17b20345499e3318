"""The composition root: `bootstrap(settings, **given)` builds the service's object graph.

One function for every process and every test tier (cosmicpython's `bootstrap.py`):
any port can be given instead of built (`ledger=`, `orders=`, `inventory=`,
`checkout=`, `status_view=`, `clock=`, `mongo=`, `refund_keys=`, and `workers=` for what runs
beside the requests), so tests hand in their fakes and get the use cases production
runs. Each part is built the first time it is asked for, so a command builds what it
uses: `payments worker` asks for the background workers, never for the HTTP side
(ADR 0021).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any, Protocol

from application.apply_stripe_event import ApplyStripeEvent
from application.checkout import CreateCheckoutSession
from application.fulfilment import SettlePayment
from application.ledger import PaymentLedger
from application.open_payments import OpenPayment, OpenPayments
from application.ports import CheckoutGateway, Clock, Inventory, OrderDirectory, PaymentStatusView
from application.reconcile import Reconcile
from application.refund_keys import RefundKeys
from application.refunds import RequestRefund
from application.status import GetPaymentHistory, GetPaymentStatus
from application.unsettled_money_back import Reported, UnsettledMoneyBackPayments
from infrastructure.clock import SystemClock
from infrastructure.effects.effect_workers import WorkerSettings
from infrastructure.effects.leader_only import LeaderOnly
from infrastructure.effects.periodic_task import PeriodicTask
from infrastructure.effects.pipeline import EffectsPipeline
from infrastructure.effects.reconcile_lock import PROJECTION_LOCK_NAME, leadership_for
from infrastructure.event_store.index_rows_for_store import index_rows_for
from infrastructure.event_store.open_payments_index import FollowedOpenPayments
from infrastructure.event_store.status_view import EventStoreStatusView
from infrastructure.event_store.store import open_ledger
from infrastructure.event_store.unsettled_money_back_index import FollowedUnsettledMoneyBack
from infrastructure.metrics.instruments import ServiceMetrics
from infrastructure.mongo.connection import MongoConnection
from infrastructure.mongo.projection_worker import StatusProjectionWorker
from infrastructure.mongo.status_view import MongoPaymentStatusView
from infrastructure.neighbours.inventory import HttpInventory
from infrastructure.neighbours.order_directory import HttpOrderDirectory
from infrastructure.readiness_probes import EventStoreProbe, MongoProbe, NotConfiguredProbe
from infrastructure.refunds.keys_for_store import refund_keys_for
from infrastructure.settings import Settings
from infrastructure.stripe.checkout_gateway import StripeCheckoutGateway
from infrastructure.stripe.unconfigured_checkout import UnconfiguredCheckoutGateway
from interfaces.metrics_wiring import read_on_scrape
from interfaces.webhook_signature import WebhookSignature

Closer = Callable[[], Awaitable[None]]
RECONCILE_TASK = "reconcile"
PROJECTION_TASK = "status projection"


class ReadinessProbe(Protocol):
    """A dependency `/ready` checks: `check` says "ok" or "not configured", raises if unusable."""

    name: str

    async def check(self) -> str: ...


class BackgroundWorker(Protocol):
    """Runs beside the requests for the process's lifetime (effects, projection, sweep)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def bootstrap(
    settings: Settings,
    *,
    ledger: PaymentLedger | None = None,
    orders: OrderDirectory | None = None,
    inventory: Inventory | None = None,
    checkout: CheckoutGateway | None = None,
    status_view: PaymentStatusView | None = None,
    clock: Clock | None = None,
    mongo: MongoConnection | None = None,
    refund_keys: RefundKeys | None = None,
    workers: Sequence[BackgroundWorker] | None = None,
) -> ServiceGraph:
    """The service's graph from `settings`, with whatever is given in place of its own."""
    given = {
        "ledger": ledger,
        "orders": orders,
        "inventory": inventory,
        "checkout": checkout,
        "status_view": status_view,
        "clock": clock,
        "mongo": mongo,
        "refund_keys": refund_keys,
        "workers": None if workers is None else list(workers),
    }
    return ServiceGraph(settings, {name: part for name, part in given.items() if part is not None})


class ServiceGraph:
    """The ports, the use cases, what the HTTP API checks and what runs in the background.

    A part given to `bootstrap` takes the place of the one built (each `cached_property`
    looks in the instance first). The clients the graph opens itself are closed by
    `closers` and `close_stores`, which the process's lifetime calls (interfaces/lifecycle.py);
    the ones given are their giver's.
    """

    def __init__(self, settings: Settings, given: dict[str, Any]) -> None:
        self.settings = settings
        # Clients this graph opened, closed once the background workers have stopped.
        self.closers: list[Closer] = []
        vars(self).update(given)

    # -- the ports ---------------------------------------------------------------

    @cached_property
    def ledger(self) -> PaymentLedger:
        return open_ledger(self.settings.event_store_url)

    @cached_property
    def clock(self) -> Clock:
        return SystemClock()

    @cached_property
    def metrics(self) -> ServiceMetrics:
        """Instruments the adapters update; a registry of its own per graph (tests build many)."""
        return ServiceMetrics()

    @cached_property
    def orders(self) -> OrderDirectory:
        orders = HttpOrderDirectory(
            self.settings.order_service_url, internal_token=self.settings.internal_service_token
        )
        self.closers.append(orders.aclose)
        return orders

    @cached_property
    def inventory(self) -> Inventory:
        inventory = HttpInventory(
            self.settings.inventory_service_url,
            internal_token=self.settings.internal_service_token,
        )
        self.closers.append(inventory.aclose)
        return inventory

    @cached_property
    def checkout(self) -> CheckoutGateway:
        settings = self.settings
        if not settings.stripe_secret_key:
            return UnconfiguredCheckoutGateway("STRIPE_SECRET_KEY is not set")
        gateway = StripeCheckoutGateway(
            settings.stripe_secret_key,
            api_base=settings.stripe_api_base,
            frontend_url=settings.frontend_url,
            expires_minutes=settings.checkout_expires_minutes,
            clock=self.clock,
            meter=self.metrics,
        )
        self.closers.append(gateway.aclose)
        return gateway

    @cached_property
    def mongo(self) -> MongoConnection | None:
        """The process's one MongoDB client (with `MONGODB_URI`), shared by the status
        view's reads, the projection, `/ready` and the metrics readings."""
        uri = self.settings.mongodb_uri
        return MongoConnection(uri) if uri else None

    @cached_property
    def status_view(self) -> PaymentStatusView:
        """With MongoDB, the view the status projection keeps (ADR 0011); without it, the
        event store itself (ADR 0007)."""
        if self.mongo is None:
            return EventStoreStatusView(self.ledger)
        view = MongoPaymentStatusView(self.mongo.database)
        self.closers.append(view.close)
        return view

    @cached_property
    def refund_keys(self) -> RefundKeys:
        """The refunds API's idempotency keys, in the event store's own database."""
        return refund_keys_for(self.ledger)

    # -- the use cases -----------------------------------------------------------

    @cached_property
    def create_checkout_session(self) -> CreateCheckoutSession:
        return CreateCheckoutSession(self.ledger, self.orders, self.checkout, self.clock)

    @cached_property
    def apply_stripe_event(self) -> ApplyStripeEvent:
        return ApplyStripeEvent(self.ledger, self.settings.payment_failed_policy, self.checkout)

    @cached_property
    def get_payment_status(self) -> GetPaymentStatus:
        return GetPaymentStatus(self.status_view, self.ledger)

    @cached_property
    def get_payment_history(self) -> GetPaymentHistory:
        return GetPaymentHistory(self.ledger)

    @cached_property
    def request_refund(self) -> RequestRefund:
        return RequestRefund(self.ledger, self.refund_keys, self.clock)

    @cached_property
    def reconcile(self) -> Reconcile:
        """Its two indexes keep their rows and position in the event store's own database,
        so a process start reads only the notifications stored since (ADR 0018)."""
        ledger = self.ledger
        return Reconcile(
            ledger,
            self.checkout,
            self.apply_stripe_event,
            self.clock,
            FollowedOpenPayments(ledger, index_rows_for(ledger, OpenPayments.name, OpenPayment)),
            delayed_limit=timedelta(hours=self.settings.delayed_payment_wait_hours),
            unsettled=FollowedUnsettledMoneyBack(
                ledger, index_rows_for(ledger, UnsettledMoneyBackPayments.name, Reported)
            ),
        )

    @cached_property
    def settle_payment(self) -> SettlePayment:
        return SettlePayment(
            self.ledger, self.orders, self.inventory, self.checkout, meter=self.metrics
        )

    # -- what the HTTP API needs besides the use cases -----------------------------

    @cached_property
    def webhook_signature(self) -> WebhookSignature:
        return WebhookSignature(self.settings.stripe_webhook_secret)

    @cached_property
    def probes(self) -> list[ReadinessProbe]:
        mongo = self.mongo
        mongo_probe = NotConfiguredProbe("MongoDB") if mongo is None else MongoProbe(mongo.database)
        return [EventStoreProbe(self.ledger), mongo_probe]

    # -- what runs beside the requests ---------------------------------------------

    @cached_property
    def workers(self) -> list[BackgroundWorker]:
        """The status projection (one process per store at a time), the effects queue
        (every process, ADR 0015) and the reconciliation sweep (one process per store at
        a time); and, for `/metrics`, the readings of what they keep (read on scrape)."""
        workers: list[BackgroundWorker] = []
        ledger, mongo = self.ledger, self.mongo
        if mongo is not None:
            workers.append(
                LeaderOnly(
                    PROJECTION_TASK,
                    lambda: StatusProjectionWorker(ledger, mongo.database),
                    leadership_for(ledger.env, PROJECTION_LOCK_NAME),
                )
            )
        pipeline = EffectsPipeline(
            ledger,
            self.settle_payment,
            WorkerSettings(
                concurrency=self.settings.effect_concurrency,
                lease_seconds=self.settings.effect_lease_seconds,
            ),
        )
        workers += [pipeline, self._reconcile_sweep()]
        read_on_scrape(self.metrics.registry, pipeline.queue, ledger, mongo)
        return workers

    def _reconcile_sweep(self) -> PeriodicTask:
        """Issue 7's sweep, in whichever process holds its lock (`serve` or `worker`)."""
        lock = leadership_for(self.ledger.env)

        async def holds_lock() -> bool:
            return await asyncio.to_thread(lock.try_acquire)

        self.closers.append(lambda: asyncio.to_thread(lock.release))
        return PeriodicTask(
            RECONCILE_TASK,
            self.settings.reconcile_interval_seconds,
            self.reconcile,
            only_when=holds_lock,
        )

    def close_stores(self) -> None:
        """Closes the MongoDB client and the ledger, once nothing can use them any more."""
        mongo = vars(self).get("mongo")
        if isinstance(mongo, MongoConnection):
            mongo.close()
        self.ledger.close()
