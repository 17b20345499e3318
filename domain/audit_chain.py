"""The hash chain that makes a payment's history tamper-evident.

Each event carries `previous_hash` (the chain head before it) and `chain_hash`,
SHA-256 over the previous hash and a canonical encoding of the event: its type,
payment, version, time and data. Changing, removing or reordering a stored
event breaks the chain at that event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

GENESIS_HASH = "0" * 64
CHAIN_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "previous_hash", "chain_hash"}
)


def chain_digest(
    previous_hash: str,
    event_type: str,
    payment_id: UUID,
    version: int,
    timestamp: datetime,
    data: Mapping[str, Any],
) -> str:
    canonical = msgspec.json.encode(
        {
            "previous": previous_hash,
            "type": event_type,
            "payment": str(payment_id),
            "version": version,
            "timestamp": timestamp,
            "data": {key: value for key, value in data.items() if key not in CHAIN_FIELDS},
        },
        order="sorted",
    )
    return hashlib.sha256(previous_hash.encode() + b"\n" + canonical).hexdigest()


def digest_of(event: object) -> str:
    """Recomputes the digest of an event as it stands (e.g. loaded from the store)."""
    state = vars(event)
    return chain_digest(
        state["previous_hash"],
        type(event).__qualname__,
        state["originator_id"],
        state["originator_version"],
        state["timestamp"],
        state,
    )
