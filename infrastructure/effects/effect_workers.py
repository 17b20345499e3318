"""Claims due payments from the effects queue and settles many at once on one event loop.

Each payment is on its own schedule: a failing one is retried with its own
backoff (5xx, timeouts, a bug), alerts once after `alert_after` seconds of
failing, and is parked on a refusal (4xx) until `parked_retry_interval` has passed,
it gets a new event, or a worker starts. None of this holds up any other payment:
a slot is only ever taken by one payment's single attempt.

Any number of processes may run these workers on one store: a row is claimed with
a lease (`lease_seconds`, renewed while the attempt runs), so a worker that dies
leaves its payments to the others once the lease lapses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import re
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from uuid import UUID

from application.fulfilment import EffectsFailed
from application.ledger import PaymentLedger
from infrastructure.effects.backoff import Backoff
from infrastructure.effects.due_payments import Claim, DuePayments

log = logging.getLogger(__name__)
Settle = Callable[[UUID], Awaitable[int]]
# Stripe's and our own request ids differ on every call; a refusal is "the same" without them.
CLAIM_BATCH_WINDOW = 0.005
REQUEST_ID = re.compile(r"\breq_[A-Za-z0-9]+")


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """Timings of the effect workers; tests shrink them, production keeps the defaults."""

    concurrency: int = 32
    lease_seconds: float = 60.0
    poll_interval: float = 1.0
    alert_after: float = 600.0
    parked_retry_interval: float = 300.0
    stop_grace_seconds: float = 20.0
    backoff: Backoff = field(default_factory=Backoff)


def same_refusal(before: str | None, now: str) -> bool:
    """Whether a refusal repeats an earlier one, ignoring per-request ids."""
    return before is not None and REQUEST_ID.sub("", before) == REQUEST_ID.sub("", now)


class EffectWorkers:
    """Up to `concurrency` payments settled at once; started and stopped with the process."""

    def __init__(
        self,
        queue: DuePayments,
        settle: Settle,
        ledger: PaymentLedger,
        settings: WorkerSettings | None = None,
    ) -> None:
        self._queue = queue
        self._settle = settle
        self._ledger = ledger
        self._settings = settings or WorkerSettings()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._rng = random.Random()  # noqa: S311 - jitter, not secrets
        self._in_flight: dict[UUID, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._stop = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.settled = 0

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            parked = await asyncio.to_thread(self._queue.retry_parked_now)
        except Exception as error:
            log.warning("could not make parked payments due", extra={"error": _named(error)})
        else:
            if parked:
                log.info("retrying parked payments", extra={"parked": parked})
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="effects:claim"),
            asyncio.create_task(self._renew_leases(), name="effects:leases"),
        ]

    async def stop(self) -> None:
        """Lets the attempts in flight finish their calls, then gives their rows back."""
        self._stop.set()
        for task in self._tasks:
            await task
        self._tasks = []
        if self._in_flight:
            _, late = await asyncio.wait(
                list(self._in_flight.values()), timeout=self._settings.stop_grace_seconds
            )
            for task in late:
                task.cancel()
        try:
            await asyncio.to_thread(self._queue.release, self.owner)
        except Exception as error:  # the leases lapse on their own
            log.warning("could not release effect leases", extra={"error": _named(error)})

    def wake(self) -> None:
        """New work may be due (the feeder fed the queue); callable from any thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is shutting down
                loop.call_soon_threadsafe(self._wake.set)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def _claim_loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            free = self._settings.concurrency - len(self._in_flight)
            claims: list[Claim] = []
            if free > 0:
                self._wake.clear()
                try:
                    claims = await asyncio.to_thread(
                        self._queue.claim, self.owner, free, self._settings.lease_seconds
                    )
                    failures = 0
                except Exception as error:
                    log.warning("claiming due payments failed", extra={"error": _named(error)})
                    await self._pause(self._settings.backoff.delay(failures, self._rng))
                    failures += 1
                    continue
                for claim in claims:
                    self._begin(claim)
            if free <= 0 or len(claims) == free:
                await self._gather_free_slots()
            else:
                # Nothing more is due now: a feed, a rescheduled payment falling due, or
                # the poll (for other processes' feeds on SQLite) wakes us.
                await self._pause(self._settings.poll_interval)

    async def _gather_free_slots(self) -> None:
        """Waits for a slot, then briefly for more, so one claim takes several rows."""
        self._slot_freed.clear()
        waiters = [
            asyncio.create_task(self._stop.wait()),
            asyncio.create_task(self._slot_freed.wait()),
        ]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        await asyncio.sleep(CLAIM_BATCH_WINDOW)

    def _begin(self, claim: Claim) -> None:
        task = asyncio.create_task(self._attempt(claim), name=f"effects:{claim.payment_id}")
        self._in_flight[claim.payment_id] = task

        def finished(_: asyncio.Task[None]) -> None:
            self._in_flight.pop(claim.payment_id, None)
            self._slot_freed.set()

        task.add_done_callback(finished)

    async def _attempt(self, claim: Claim) -> None:
        try:
            await self._settle(claim.payment_id)
        except EffectsFailed as failed:
            if failed.refused:
                await self._park(claim, failed)
            else:
                await self._retry_later(claim, failed)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            await self._retry_later(claim, error)
        else:
            await self._settled(claim)

    async def _settled(self, claim: Claim) -> None:
        try:
            gone = await asyncio.to_thread(self._queue.settled, claim, self.owner)
        except Exception as error:  # the lease lapses; another attempt finds nothing owed
            log.warning("could not remove a settled payment", extra={"error": _named(error)})
            return
        self.settled += 1
        log.info(
            "payment settled", extra={"paymentId": str(claim.payment_id), "worker": self.owner}
        )
        if gone and claim.parked_reason is not None:
            await self._log(claim, logging.INFO, "parked payment settled", None)

    async def _retry_later(self, claim: Claim, error: Exception) -> None:
        now = time.time()
        failing_for = now - (claim.failing_since or now)
        alert = failing_for >= self._settings.alert_after and not claim.alerted
        delay = self._settings.backoff.delay(claim.attempts, self._rng)
        what = f"payment effect failing since {int(failing_for)} s; will retry"
        await self._log(claim, logging.ERROR if alert else logging.WARNING, what, error, alert)
        await self._reschedule(
            self._queue.retry_later,
            claim,
            self.owner,
            delay,
            _named(error),
            alerted=claim.alerted or alert,
        )
        self._wake_after(delay)

    async def _park(self, claim: Claim, refusal: EffectsFailed) -> None:
        reason = str(refusal)
        # One alert per refusal: the same refusal on a later retry is a warning only.
        known = same_refusal(claim.parked_reason, reason)
        what = (
            "payment effect still refused; stays parked"
            if known
            else "payment effect refused; payment parked"
        )
        await self._log(
            claim, logging.WARNING if known else logging.ERROR, what, refusal, not known
        )
        await self._reschedule(
            self._queue.park, claim, self.owner, self._settings.parked_retry_interval, reason
        )
        self._wake_after(self._settings.parked_retry_interval)

    def _wake_after(self, seconds: float) -> None:
        """Looks for due rows when this one falls due, rather than at the next poll."""
        asyncio.get_running_loop().call_later(seconds, self._wake.set)

    async def _reschedule(
        self, change: Callable[..., None], *args: object, **kwargs: object
    ) -> None:
        try:
            await asyncio.to_thread(change, *args, **kwargs)
        except Exception as error:  # the lease lapses and the payment is tried again
            log.warning("could not reschedule a payment", extra={"error": _named(error)})

    async def _log(
        self, claim: Claim, level: int, what: str, error: Exception | None, alert: bool = False
    ) -> None:
        payment = await asyncio.to_thread(self._ledger.load, claim.payment_id)
        extra: dict[str, object] = {
            "paymentId": str(claim.payment_id),
            "orderId": payment.order_id if payment else None,
            "sessionId": payment.checkout_session_id if payment else None,
        }
        if error is not None:
            extra["error"] = _named(error)
        if alert:
            extra["alert"] = True
        log.log(level, what, extra=extra)

    async def _renew_leases(self) -> None:
        interval = self._settings.lease_seconds / 3
        while not self._stop.is_set():
            await self._pause(interval, wakeable=False)
            if self._in_flight:
                try:
                    await asyncio.to_thread(
                        self._queue.extend,
                        self.owner,
                        list(self._in_flight),
                        self._settings.lease_seconds,
                    )
                except Exception as error:
                    log.warning("could not renew effect leases", extra={"error": _named(error)})

    async def _pause(self, seconds: float, *, wakeable: bool = True) -> None:
        waiters = [asyncio.create_task(self._stop.wait())]
        if wakeable:
            waiters.append(asyncio.create_task(self._wake.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()


def _named(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
