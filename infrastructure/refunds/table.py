"""The `refund_idempotency_keys` table, kept in the event store's own database.

One row per `Idempotency-Key` ever sent to `POST /refunds`, for all admins (ADR 0023):
the request's fingerprint, its order and the refund the key names. The key is the
primary key, so `INSERT … ON CONFLICT DO NOTHING` decides between concurrent requests.
Rows are kept: refunds are rare, and a key must never name a second refund.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from application.refund_keys import RefundKey

TABLE = "refund_idempotency_keys"
COLUMNS = "key, fingerprint, order_id, refund_id, created_at"


def key_of(row: Mapping[str, Any]) -> RefundKey:
    created_at = row["created_at"]
    if isinstance(created_at, str):  # SQLite keeps it as ISO 8601 text
        created_at = datetime.fromisoformat(created_at)
    return RefundKey(
        key=row["key"],
        fingerprint=row["fingerprint"],
        order_id=row["order_id"],
        refund_id=row["refund_id"],
        created_at=created_at,
    )
