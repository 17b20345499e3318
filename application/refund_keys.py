"""The refunds API's idempotency keys: which request each key was first used for.

An admin's client retries `POST /refunds` with the same `Idempotency-Key` after a
timeout; the retry must answer as the first request did and refund nothing more. The
key names one refund for good (its refund id is derived from the key), and the first
request's fingerprint makes a key sent again with another body a 409 (ADR 0023).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Protocol
from uuid import UUID, uuid5

import msgspec

REFUND_KEY_NAMESPACE = UUID("2b4e9c1a-7d35-5f08-a6e2-91c3d4b5f6a7")
ALL_REFUNDABLE = "all"
"""The fingerprint's amount when the request leaves it out (everything still refundable)."""


class RefundKey(msgspec.Struct, frozen=True):
    """One key as first used: by which request (its fingerprint), for which order and refund."""

    key: str
    fingerprint: str
    order_id: str
    refund_id: str
    created_at: datetime


class RefundKeys(Protocol):
    """The keys, kept durably beside the payments; every method may block on the database."""

    def find(self, key: str) -> RefundKey | None: ...

    def claim(self, candidate: RefundKey) -> RefundKey:
        """Stores `candidate` unless its key is already stored; returns the stored one.

        The insert is the arbiter between concurrent requests with one key: exactly one
        candidate is stored, and every caller gets that one back.
        """
        ...


def refund_id_for(key: str) -> str:
    """The refund an idempotency key names: derived, so a retry after a crash between
    storing the key and recording the refund records that same refund."""
    return "rf_" + uuid5(REFUND_KEY_NAMESPACE, key).hex


def fingerprint_of(order_id: str, amount_minor: int | None, reason: str | None) -> str:
    """The request as the key remembers it: order, amount in minor units (or "all"), reason.

    Canonical, so `50`, `50.0` and `50.00` are one request; hashed, so its length is fixed.
    """
    amount = ALL_REFUNDABLE if amount_minor is None else str(amount_minor)
    canonical = msgspec.json.encode([order_id, amount, reason or ""])
    return hashlib.sha256(canonical).hexdigest()
