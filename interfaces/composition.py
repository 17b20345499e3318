"""The composition root: the one place that builds the object graph.

`build_services(settings)` wires the real adapters; tests call `wire(...)` with
the fakes of tests/fakes.py behind the same ports, so both run the same graph.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from application.apply_stripe_event import ApplyStripeEvent
from application.checkout import CreateCheckoutSession
from application.ledger import PaymentLedger
from application.ports import CheckoutGateway, Clock, OrderDirectory, PaymentStatusView
from application.reconcile import DEFAULT_DELAYED_LIMIT, Reconcile
from application.status import GetPaymentHistory, GetPaymentStatus
from domain.lifecycle import FailedPaymentPolicy
from infrastructure.clock import SystemClock
from infrastructure.effects.effect_workers import WorkerSettings
from infrastructure.effects.leader_only import LeaderOnly
from infrastructure.effects.periodic_task import PeriodicTask
from infrastructure.effects.pipeline import effects_pipeline_for
from infrastructure.effects.reconcile_lock import PROJECTION_LOCK_NAME, leadership_for
from infrastructure.event_store.open_payments_index import FollowedOpenPayments
from infrastructure.event_store.status_view import EventStoreStatusView
from infrastructure.event_store.store import open_ledger
from infrastructure.metrics.instruments import ServiceMetrics
from infrastructure.mongo.projection_worker import StatusProjectionWorker
from infrastructure.mongo.status_view import MongoPaymentStatusView
from infrastructure.neighbours.inventory import HttpInventory
from infrastructure.neighbours.order_directory import HttpOrderDirectory
from infrastructure.readiness_probes import EventStoreProbe, MongoProbe, NotConfiguredProbe
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
    """Runs beside the HTTP server for the app's lifetime (effect processor, projection…)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class Services:
    """Everything the HTTP layer calls, and what the app lifespan starts and stops."""

    create_checkout_session: CreateCheckoutSession
    apply_stripe_event: ApplyStripeEvent
    get_payment_status: GetPaymentStatus
    get_payment_history: GetPaymentHistory
    reconcile: Reconcile
    ledger: PaymentLedger
    status_view: PaymentStatusView
    webhook_signature: WebhookSignature
    jwt_secret: str
    probes: list[ReadinessProbe] = field(default_factory=list)
    workers: list[BackgroundWorker] = field(default_factory=list)
    closers: list[Closer] = field(default_factory=list)
    # A registry of its own per graph: tests build many graphs in one process.
    metrics: ServiceMetrics = field(default_factory=ServiceMetrics)


def wire(
    ledger: PaymentLedger,
    orders: OrderDirectory,
    checkout: CheckoutGateway,
    status_view: PaymentStatusView,
    clock: Clock,
    *,
    jwt_secret: str,
    webhook_secrets: str,
    policy: FailedPaymentPolicy = FailedPaymentPolicy.CANCEL,
    delayed_payment_wait: timedelta = DEFAULT_DELAYED_LIMIT,
) -> Services:
    """The use cases on top of the given ports; probes, workers and closers are added after."""
    apply_stripe_event = ApplyStripeEvent(ledger, policy)
    return Services(
        create_checkout_session=CreateCheckoutSession(ledger, orders, checkout, clock),
        apply_stripe_event=apply_stripe_event,
        get_payment_status=GetPaymentStatus(status_view, ledger),
        get_payment_history=GetPaymentHistory(ledger),
        reconcile=Reconcile(
            ledger,
            checkout,
            apply_stripe_event,
            clock,
            FollowedOpenPayments(ledger),
            delayed_limit=delayed_payment_wait,
        ),
        ledger=ledger,
        status_view=status_view,
        webhook_signature=WebhookSignature(webhook_secrets),
        jwt_secret=jwt_secret,
    )


def build_services(settings: Settings) -> Services:
    """The production graph, from settings."""
    clock = SystemClock()
    metrics = ServiceMetrics()
    ledger = open_ledger(settings.event_store_url)
    orders = HttpOrderDirectory(
        settings.order_service_url, internal_token=settings.internal_service_token
    )
    inventory = HttpInventory(
        settings.inventory_service_url, internal_token=settings.internal_service_token
    )
    checkout = _checkout_gateway(settings, clock, metrics)
    # With MONGODB_URI, statuses are read from the MongoDB view the status projection
    # keeps (ADR 0011); without it, from the event store itself (ADR 0007).
    mongo_view = (
        MongoPaymentStatusView.from_uri(settings.mongodb_uri) if settings.mongodb_uri else None
    )
    status_view: PaymentStatusView = mongo_view or EventStoreStatusView(ledger)
    services = wire(
        ledger,
        orders,
        checkout,
        status_view,
        clock,
        jwt_secret=settings.jwt_secret,
        webhook_secrets=settings.stripe_webhook_secret,
        policy=settings.payment_failed_policy,
        delayed_payment_wait=timedelta(hours=settings.delayed_payment_wait_hours),
    )
    services.metrics = metrics
    services.probes.append(EventStoreProbe(ledger))
    if settings.mongodb_uri:
        mongo = MongoProbe(settings.mongodb_uri)
        services.probes.append(mongo)
        services.closers.append(mongo.aclose)
        # One projection per store at a time (docs/scaling.md): the others stand by.
        uri = settings.mongodb_uri
        services.workers.append(
            LeaderOnly(
                PROJECTION_TASK,
                lambda: StatusProjectionWorker(ledger, uri),
                leadership_for(ledger.env, PROJECTION_LOCK_NAME),
            )
        )
    if mongo_view is not None:
        services.closers.append(mongo_view.close)
    else:
        services.probes.append(NotConfiguredProbe("MongoDB"))
    # Order/inventory/refund effects follow the log through a queue of due payments that
    # every process drains, many at once (ADR 0015).
    worker_settings = WorkerSettings(
        concurrency=settings.effect_concurrency, lease_seconds=settings.effect_lease_seconds
    )
    pipeline = effects_pipeline_for(
        ledger, orders, inventory, checkout, worker_settings, meter=metrics
    )
    services.workers.append(pipeline)
    # The reconciliation sweep (issue 7) runs in one process per store at a time: the one
    # that holds its lock, whether that is a `payments serve` or a `payments worker`.
    lock = leadership_for(ledger.env)

    async def holds_lock() -> bool:
        return await asyncio.to_thread(lock.try_acquire)

    services.workers.append(
        PeriodicTask(
            RECONCILE_TASK,
            settings.reconcile_interval_seconds,
            services.reconcile,
            only_when=holds_lock,
        )
    )
    services.closers.append(lambda: asyncio.to_thread(lock.release))
    services.closers.extend([orders.aclose, inventory.aclose, checkout.aclose])
    read_on_scrape(services, pipeline.queue, settings.mongodb_uri)
    return services


class ClosableCheckout(CheckoutGateway, Protocol):
    async def aclose(self) -> None: ...


def _checkout_gateway(
    settings: Settings, clock: Clock, metrics: ServiceMetrics
) -> ClosableCheckout:
    if not settings.stripe_secret_key:
        return UnconfiguredCheckoutGateway("STRIPE_SECRET_KEY is not set")
    return StripeCheckoutGateway(
        settings.stripe_secret_key,
        api_base=settings.stripe_api_base,
        frontend_url=settings.frontend_url,
        expires_minutes=settings.checkout_expires_minutes,
        clock=clock,
        meter=metrics,
    )
