"""What `/ready` checks: the event store and, when configured, MongoDB."""

from __future__ import annotations

import asyncio

from pymongo import MongoClient

from application.ledger import PaymentLedger

PING_TIMEOUT_MS = 1500
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
    """Pings MongoDB with a short server-selection timeout."""

    name = "MongoDB"

    def __init__(self, uri: str) -> None:
        self._client: MongoClient[dict[str, object]] = MongoClient(
            uri, serverSelectionTimeoutMS=PING_TIMEOUT_MS, connectTimeoutMS=PING_TIMEOUT_MS
        )

    async def check(self) -> str:
        await asyncio.to_thread(self._client.admin.command, "ping")
        return READY

    async def aclose(self) -> None:
        await asyncio.to_thread(self._client.close)


class NotConfiguredProbe:
    """A dependency the service runs without (e.g. MongoDB in the embedded setup)."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def check(self) -> str:
        return NOT_CONFIGURED
