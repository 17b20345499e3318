"""`GET /history/{orderId}`: every recorded event of an order's payment, with its chain hash."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from application.identity import Caller
from application.status import GetPaymentHistory, HistoryEntry
from interfaces.api_document import error_responses


class HistoryEntryBody(msgspec.Struct):
    """One event: what happened, when, its data, and where it sits in the hash chain."""

    version: int
    type: str
    recordedAt: str
    data: dict[str, Any]
    previousHash: str
    chainHash: str

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryEntryBody:
        return cls(
            version=entry.version,
            type=entry.type,
            recordedAt=entry.recorded_at,
            data=entry.data,
            previousHash=entry.previous_hash,
            chainHash=entry.chain_hash,
        )


class PaymentHistoryBody(msgspec.Struct):
    orderId: str
    entries: list[HistoryEntryBody]


class HistoryController(Controller):
    """A payment's full history: its owner's, or any for an auditor or admin."""

    tags = ["audit"]

    @get("/history/{orderId:str}", responses=error_responses(400, 401, 404, 500))
    async def history(
        self,
        orderId: FromPath[str],
        request: Request[Caller, Any, Any],
        get_payment_history: NamedDependency[GetPaymentHistory],
    ) -> PaymentHistoryBody:
        """Oldest first; someone else's order answers 404 `Order not found`, like a missing one."""
        entries = await get_payment_history(request.user, orderId)
        return PaymentHistoryBody(orderId, [HistoryEntryBody.of(entry) for entry in entries])
