"""What `/ready` checks: the event store and, when configured, MongoDB."""

from __future__ import annotations

import asyncio
from typing import Any

import pymongo
from pymongo.database import Database

from application.ledger import PaymentLedger

PING_TIMEOUT_SECONDS = 1.5
READY = "ok"
NOT_CONFIGURED = "not configured"


class EventStoreProbe:
    """Reads the head of the event store's log; raises if the store cannot be read."""

    name = "event store"

    def __init__(self, ledger: PaymentLedger) -> None:
        self._ledger = ledger

    async def check(self) -> str:
        await asyncio.to_thread(self._ledger.last_notification_id)
        return READY


class MongoProbe:
    """Pings MongoDB through the process's client, giving up after a short timeout."""

    name = "MongoDB"

    def __init__(
        self, database: Database[Any], timeout_seconds: float = PING_TIMEOUT_SECONDS
    ) -> None:
        self._database = database
        self._timeout = timeout_seconds

    async def check(self) -> str:
        await asyncio.to_thread(self._ping)
        return READY

    def _ping(self) -> None:
        with pymongo.timeout(self._timeout):
            self._database.client.admin.command("ping")


class NotConfiguredProbe:
    """A dependency the service runs without (e.g. MongoDB in the embedded setup)."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def check(self) -> str:
        return NOT_CONFIGURED
