"""Webhook delivery: in the background, signed, retried with exponential backoff.

Each (event, endpoint) pair is a row in the store; every attempt is recorded.
Deliveries run concurrently and in no particular order, as Stripe's do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, replace

import httpx

from sandbox.stripe_api.signing import signature_header
from sandbox.stripe_api.state import Sandbox
from sandbox.stripe_api.store import Delivery

_log = logging.getLogger(__name__)
_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff `base * 2**(n-1)` after the n-th failed attempt, at most `max_attempts`."""

    base_seconds: float
    max_attempts: int

    def after_failure(self, delivery: Delivery, now: float) -> Delivery:
        attempts = delivery.attempts + 1
        if attempts >= self.max_attempts:
            return replace(delivery, state="failed", attempts=attempts)
        delay = self.base_seconds * 2 ** (attempts - 1)
        return replace(delivery, attempts=attempts, next_attempt_at=now + delay)


class WebhookDeliverer:
    """Sends due deliveries while delivery is enabled; runs until cancelled."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._policy = RetryPolicy(sandbox.config.retry_base_seconds, sandbox.config.max_attempts)
        self._in_flight: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        timeout = self._sandbox.config.delivery_timeout_seconds
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            wake = self._sandbox.events.wake
            while True:
                if self._sandbox.delivery_enabled:
                    self._start_due(client)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=_POLL_SECONDS)
                wake.clear()

    def _start_due(self, client: httpx.AsyncClient) -> None:
        for delivery in self._sandbox.store.due_deliveries(self._sandbox.clock.now()):
            key = (delivery.event_id, delivery.url)
            if key in self._in_flight:
                continue
            self._in_flight.add(key)
            task = asyncio.create_task(self._deliver_once(client, delivery))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver_once(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        try:
            await self._deliver(client, delivery)
        finally:
            self._in_flight.discard((delivery.event_id, delivery.url))

    async def _deliver(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        payload = self._payload(delivery.event_id)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": signature_header(
                self._sandbox.webhook_secret, payload, int(time.time())
            ),
        }
        status, error = None, None
        try:
            response = await client.post(delivery.url, content=payload, headers=headers)
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        self._record(delivery, status, error)

    def _payload(self, event_id: str) -> bytes:
        """The event as sent now: `pending_webhooks` counts endpoints still waiting."""
        store = self._sandbox.store
        event = store.get_event(event_id) or {}
        event["pending_webhooks"] = sum(d.state != "succeeded" for d in store.deliveries(event_id))
        # Stripe pretty-prints its payloads; receivers must verify the raw bytes.
        return json.dumps(event, indent=2).encode()

    def _record(self, delivery: Delivery, status: int | None, error: str | None) -> None:
        now = self._sandbox.clock.now()
        store = self._sandbox.store
        store.record_attempt(delivery, now, status, error)
        if status is not None and 200 <= status < 300:
            store.update_delivery(
                replace(delivery, state="succeeded", attempts=delivery.attempts + 1)
            )
            return
        _log.info(
            "delivery of %s to %s failed: %s", delivery.event_id, delivery.url, error or status
        )
        store.update_delivery(self._policy.after_failure(delivery, now))
