"""Follows the payments log and settles each payment it mentions, tracking its position.

The position is an eventsourcing `Tracking` record in the event store's own
database (tracking recorder, application name `PaymentProcessor`), saved only
after the facts of the payments before it: a crash re-reads a few notifications,
and `pending_effects()` is empty for everything already recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Notification, Tracking

from application.errors import ServiceRejected
from application.fulfilment import SettlePayment
from application.ledger import PaymentLedger
from application.ports import CheckoutGateway, InventoryLedger, OrderDirectory
from infrastructure.effects.backoff import Backoff
from infrastructure.effects.parked_payments import ParkedPayments, parked_payments_for
from infrastructure.effects.processor_leadership import Leadership, leadership_for
from infrastructure.event_store.store import survive_concurrent_schema_creation

log = logging.getLogger(__name__)
TRACKING_NAME = "PaymentProcessor"

Settle = Callable[[UUID], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class ProcessorSettings:
    """Timings of the processor; tests shrink them, production keeps the defaults."""

    backoff: Backoff = field(default_factory=Backoff)
    alert_after: float = 600.0
    poll_interval: float = 1.0
    leadership_interval: float = 2.0
    parked_retry_interval: float = 300.0
    batch_size: int = 100


class PaymentProcessor:
    """Drives order, inventory and Stripe effects from the log, as the one active worker.

    Calls that fail for a reason that passes (5xx, timeouts, Stripe unreachable, a
    bug) are retried forever with backoff, holding the log position, and an
    `"alert": true` line is logged once they have failed for `alert_after` seconds.
    A `ServiceRejected` (a 4xx) parks the payment: alert, record nothing, move on.
    Parked payments are kept in the event store's database (`ParkedPayments`), so a
    restart or a new leader knows them; they are tried again when this worker takes
    the lead, every `parked_retry_interval` however busy the log is, and whenever they
    get a new event.
    """

    def __init__(
        self,
        ledger: PaymentLedger,
        settle: Settle,
        leadership: Leadership,
        settings: ProcessorSettings | None = None,
        rng: random.Random | None = None,
        parked: ParkedPayments | None = None,
    ) -> None:
        self._ledger = ledger
        self._settle = settle
        self._leadership = leadership
        self._settings = settings or ProcessorSettings()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self._tracking = survive_concurrent_schema_creation(ledger.factory.tracking_recorder)
        self._parked_store = parked or parked_payments_for(ledger)
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.parked: dict[UUID, str] = {}
        self.is_active = False
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        ledger.add_listener(self._on_saved)

    async def start(self) -> None:
        """Runs in the background until `stop()` (the app lifespan's worker protocol)."""
        self._stop = asyncio.Event()
        self._ledger.add_listener(self._on_saved)
        self._task = asyncio.create_task(self.run(self._stop), name="payment-processor")

    async def stop(self) -> None:
        """Lets the effect in flight finish its call, then releases leadership."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
        self._ledger.remove_listener(self._on_saved)

    def position(self) -> int:
        """The last notification whose payment has been settled (0 before the first)."""
        return self._tracking.max_tracking_id(TRACKING_NAME) or 0

    async def run(self, stop: asyncio.Event) -> None:
        """Stands by until it leads, then follows the log until `stop` is set."""
        self._loop = asyncio.get_running_loop()
        while not stop.is_set():
            if await asyncio.to_thread(self._leadership.try_acquire):
                log.info("payment processor is the active worker")
                self.is_active = True
                try:
                    await self._follow(stop)
                finally:
                    self.is_active = False
                    await asyncio.to_thread(self._leadership.release)
            if not stop.is_set():
                await _pause(stop, self._settings.leadership_interval)

    def _on_saved(self, notification_id: int) -> None:
        """Called by the ledger (from any thread) after each save: look at the log now."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is shutting down
                loop.call_soon_threadsafe(self._wake.set)

    async def _follow(self, stop: asyncio.Event) -> None:
        position = await asyncio.to_thread(self.position)
        # What earlier leaders (or this process before a restart) parked is tried first.
        self.parked = await asyncio.to_thread(self._parked_store.all)
        # Those are tried at once; a payment parked from now on waits a full interval.
        parked_retry_at = time.monotonic() + (0 if self.parked else self._parked_interval())
        while not stop.is_set():
            if not await self._still_leading():
                return
            if self.parked and time.monotonic() >= parked_retry_at:
                # On a timer, not only when the log is idle: a busy log must not starve them.
                if not await self._retry_parked(stop):
                    return
                parked_retry_at = time.monotonic() + self._parked_interval()
            self._wake.clear()
            notifications = await asyncio.to_thread(self._read_after, position)
            if notifications:
                if not await self._process(notifications, stop):
                    return
                position = notifications[-1].id
            else:
                await _pause(stop, self._settings.poll_interval, self._wake)

    def _parked_interval(self) -> float:
        return self._settings.parked_retry_interval

    async def _still_leading(self) -> bool:
        if await asyncio.to_thread(self._leadership.still_held):
            return True
        log.error("payment processor lost its leadership", extra={"alert": True})
        return False

    def _read_after(self, position: int) -> Sequence[Notification]:
        return self._ledger.recorder.select_notifications(
            position, self._settings.batch_size, inclusive_of_start=False
        )

    async def _process(self, notifications: Sequence[Notification], stop: asyncio.Event) -> bool:
        """Settles each payment of the batch once (its latest state covers the whole batch)."""
        for payment_id in dict.fromkeys(n.originator_id for n in notifications):
            if not await self._settle_until_done(UUID(str(payment_id)), stop):
                return False
        return await asyncio.to_thread(self._track, notifications[-1].id)

    def _track(self, notification_id: int) -> bool:
        try:
            self._tracking.insert_tracking(Tracking(TRACKING_NAME, notification_id))
        except IntegrityError:
            # Someone tracked this far already: another worker led meanwhile. Stand down.
            log.error("processor position moved by another worker", extra={"alert": True})
            return False
        return True

    async def _retry_parked(self, stop: asyncio.Event) -> bool:
        """False if `stop` came first or leadership was lost."""
        log.info("retrying parked payments", extra={"parked": len(self.parked)})
        for payment_id in list(self.parked):
            if not await self._settle_until_done(payment_id, stop):
                return False
        return True

    async def _settle_until_done(self, payment_id: UUID, stop: asyncio.Event) -> bool:
        """True once settled or parked; False if `stop` came first or leadership was lost."""
        attempt, failing_since, alerted = 0, 0.0, False
        while not stop.is_set():
            try:
                await self._settle(payment_id)
            except ServiceRejected as error:
                await self._park(payment_id, error)
                return True
            except Exception as error:
                failing_since = failing_since or time.monotonic()
                overdue = time.monotonic() - failing_since >= self._settings.alert_after
                what = f"failing since {int(time.monotonic() - failing_since)} s; will retry"
                await self._log_failure(payment_id, error, what, alert=overdue and not alerted)
                alerted = alerted or overdue
                await _pause(stop, self._settings.backoff.delay(attempt, self._rng))
                attempt += 1
                # A worker that lost its claim must not keep calling: another one leads now.
                if not stop.is_set() and not await self._still_leading():
                    return False
                continue
            if payment_id in self.parked:
                await self._unpark(payment_id)
            return True
        return False

    async def _park(self, payment_id: UUID, error: ServiceRejected) -> None:
        reason = str(error)
        # One alert per refusal: a payment still refused for the same reason on a retry
        # (or after a restart) is logged as a warning only.
        known = self.parked.get(payment_id) == reason
        what = "still rejected; payment stays parked" if known else "rejected; payment parked"
        await self._log_failure(payment_id, error, what, alert=not known)
        self.parked[payment_id] = reason
        try:
            await asyncio.to_thread(self._parked_store.park, payment_id, reason)
        except Exception:
            # Still parked in memory; a restart before its next event would forget it.
            log.exception("could not save a parked payment", extra={"paymentId": str(payment_id)})

    async def _unpark(self, payment_id: UUID) -> None:
        try:
            await asyncio.to_thread(self._parked_store.unpark, payment_id)
        except Exception:
            # Kept in memory so that the row is deleted on a later retry (settling is a no-op).
            log.exception(
                "could not unpark a settled payment", extra={"paymentId": str(payment_id)}
            )
            return
        self.parked.pop(payment_id, None)
        log.info("parked payment settled", extra={"paymentId": str(payment_id)})

    async def _log_failure(
        self, payment_id: UUID, error: Exception, what: str, *, alert: bool
    ) -> None:
        payment = await asyncio.to_thread(self._ledger.load, payment_id)
        extra: dict[str, object] = {
            "paymentId": str(payment_id),
            "orderId": payment.order_id if payment else None,
            "sessionId": payment.checkout_session_id if payment else None,
            "error": f"{type(error).__name__}: {error}",
        }
        if alert:
            extra["alert"] = True
        log.log(logging.ERROR if alert else logging.WARNING, f"payment effect {what}", extra=extra)


async def _pause(stop: asyncio.Event, seconds: float, wake: asyncio.Event | None = None) -> None:
    """Sleeps up to `seconds`, returning early when `stop` (or `wake`) is set."""
    waiters = [asyncio.create_task(stop.wait())]
    if wake is not None:
        waiters.append(asyncio.create_task(wake.wait()))
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def processor_for(
    ledger: PaymentLedger,
    orders: OrderDirectory,
    inventory: InventoryLedger,
    checkout: CheckoutGateway,
    settings: ProcessorSettings | None = None,
) -> PaymentProcessor:
    """The processor over these ports, led by the lock that fits the ledger's store."""
    settle = SettlePayment(ledger, orders, inventory, checkout)
    return PaymentProcessor(ledger, settle, leadership_for(ledger.env), settings)
