"""The event log: every state change becomes a Stripe `event`, queued for delivery."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from sandbox.stripe_api.clock import SandboxClock
from sandbox.stripe_api.ids import new_id
from sandbox.stripe_api.objects import public
from sandbox.stripe_api.store import SandboxStore

# The version the installed stripe-python (16.x) pins; events carry the
# endpoint's API version, and ours is the SDK's.
API_VERSION = "2026-10-28.endive"


@dataclass(frozen=True)
class RequestOrigin:
    """The API request that caused an event (`event.request`); None for customer actions."""

    request_id: str | None = None
    idempotency_key: str | None = None


@dataclass
class EventLog:
    """Records events and wakes the deliverer; never delivers inside a request."""

    store: SandboxStore
    clock: SandboxClock
    endpoints: list[str]
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def emit(
        self,
        event_type: str,
        obj: dict[str, Any],
        origin: RequestOrigin | None = None,
        previous: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record `event_type` for `obj`; `previous` holds the changed fields' old values
        (Stripe's `data.previous_attributes`, sent on `*.updated` events)."""
        origin = origin or RequestOrigin()
        data: dict[str, Any] = {"object": public(obj)}
        if previous is not None:
            data["previous_attributes"] = previous
        event = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.clock.timestamp(),
            "data": data,
            "livemode": False,
            "pending_webhooks": len(self.endpoints),
            "request": {"id": origin.request_id, "idempotency_key": origin.idempotency_key},
            "type": event_type,
        }
        self.store.add_event(event, list(self.endpoints), self.clock.now())
        self.wake.set()
        return event

    def delivery_succeeded(self, event_id: str) -> bool:
        """True once every endpoint has accepted it; an event no endpoint got is not."""
        deliveries = self.store.deliveries(event_id)
        return bool(deliveries) and all(d.state == "succeeded" for d in deliveries)

    def redeliver(self, event_id: str) -> None:
        for url in self.endpoints:
            self.store.requeue_delivery(event_id, url, self.clock.now())
        self.wake.set()
