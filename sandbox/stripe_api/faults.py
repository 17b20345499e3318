"""Fault injection: make the next call of an operation fail or stall, for tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sandbox.stripe_api.errors import injected_failure

OPERATIONS = frozenset(
    {
        "checkout.sessions.create",
        "checkout.sessions.expire",
        "checkout.sessions.retrieve",
        "refunds.create",
    }
)


@dataclass
class Fault:
    """The next `times` calls of `operation` wait `delay_seconds`, then fail with `status`."""

    operation: str
    status: int | None = 500
    delay_seconds: float = 0.0
    times: int = 1


class FaultInjector:
    """Faults armed through `/_sandbox/faults`, consumed in arming order."""

    def __init__(self) -> None:
        self._armed: list[Fault] = []

    def arm(self, fault: Fault) -> None:
        self._armed.append(fault)

    def clear(self) -> None:
        self._armed.clear()

    def armed(self) -> list[Fault]:
        return list(self._armed)

    async def apply(self, operation: str) -> None:
        """Called inside the operation, so a failure is saved for its idempotency key."""
        fault = next((f for f in self._armed if f.operation == operation), None)
        if fault is None:
            return
        fault.times -= 1
        if fault.times <= 0:
            self._armed.remove(fault)
        if fault.delay_seconds > 0:
            await asyncio.sleep(fault.delay_seconds)
        if fault.status is not None:
            raise injected_failure(fault.status)
