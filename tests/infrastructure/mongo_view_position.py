"""Waiting for the MongoDB status view to reach a point of the log (its tracking document)."""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo.database import Database
from pymongo.errors import PyMongoError

from application.ledger import PaymentLedger
from infrastructure.mongo.payment_document import TRACKING

WAIT = 30.0


def view_position(database: Database[Any], ledger: PaymentLedger) -> int:
    """The notification id the view's projection has stored (0 before any, or while down)."""
    try:
        tracking = database[TRACKING].find_one({"_id": ledger.name})
    except PyMongoError:
        return 0
    return int(tracking["notificationId"]) if tracking is not None else 0


async def view_reaches(
    database: Database[Any], ledger: PaymentLedger, position: int, within: float = WAIT
) -> bool:
    """True once the view's position is `position` or later; False after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while await asyncio.to_thread(view_position, database, ledger) < position:
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True
