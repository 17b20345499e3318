"""Payment statuses read straight from the event store, for a service without MongoDB."""

from __future__ import annotations

import asyncio

from application.ledger import PaymentLedger
from application.ports import PaymentStatusReport
from application.status import report_of


class EventStoreStatusView:
    """The `PaymentStatusView` port answered by replaying the payment's events (ADR 0007)."""

    def __init__(self, ledger: PaymentLedger) -> None:
        self._ledger = ledger

    async def get(self, order_id: str) -> PaymentStatusReport | None:
        payment = await asyncio.to_thread(self._ledger.find, order_id)
        return report_of(payment) if payment is not None else None
