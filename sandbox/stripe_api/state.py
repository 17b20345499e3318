"""The sandbox's object graph, built once at start and handed to every handler."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.stripe_api.clock import SandboxClock
from sandbox.stripe_api.config import SandboxConfig
from sandbox.stripe_api.events import EventLog
from sandbox.stripe_api.faults import FaultInjector
from sandbox.stripe_api.idempotency import IdempotencyKeys
from sandbox.stripe_api.signing import new_webhook_secret
from sandbox.stripe_api.store import SandboxStore

_SECRET = "webhook_secret"  # noqa: S105 - the settings row name, not a secret
_CLOCK_OFFSET = "clock_offset_seconds"


@dataclass
class Sandbox:
    """Store, clock, event log and request machinery shared by all routes."""

    config: SandboxConfig
    store: SandboxStore
    clock: SandboxClock
    events: EventLog
    faults: FaultInjector
    idempotency: IdempotencyKeys
    webhook_secret: str
    delivery_enabled: bool

    def advance_clock(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.store.put_setting(_CLOCK_OFFSET, repr(self.clock.offset_seconds))


def build_sandbox(config: SandboxConfig) -> Sandbox:
    store = SandboxStore(config.data_dir)
    clock = SandboxClock(float(store.setting(_CLOCK_OFFSET) or 0.0))
    return Sandbox(
        config=config,
        store=store,
        clock=clock,
        events=EventLog(store, clock, list(config.forward_to)),
        faults=FaultInjector(),
        idempotency=IdempotencyKeys(store),
        webhook_secret=_webhook_secret(config, store),
        delivery_enabled=config.deliver,
    )


def _webhook_secret(config: SandboxConfig, store: SandboxStore) -> str:
    """The given secret, else the data dir's, else a new one (kept for next time)."""
    secret = config.webhook_secret or store.setting(_SECRET) or new_webhook_secret()
    store.put_setting(_SECRET, secret)
    return secret
