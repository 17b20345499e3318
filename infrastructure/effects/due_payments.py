"""The durable queue of payments that owe effects, in the event store's own database.

The log says what is owed (`Payment.pending_effects()`); this table says which
payments still have to be looked at, and when. One row per payment:

- `due_at`: when a worker should next try it (now, after a backoff, or five
  minutes after a refusal);
- `generation`: bumped by the feeder whenever the payment gets a new event, so a
  worker that settled an older generation never deletes a row that a newer event
  made due again;
- `attempts`, `failing_since`, `alerted`, `last_error`: its own retry history;
- `parked_reason`: the last refusal (4xx), kept to alert once per distinct refusal;
- `lease_owner`, `lease_until`: the worker that claimed it. A lease that lapses
  (the worker died) makes the row claimable again.

The feeder's position sits in a second table and is committed in the same
transaction as the rows it fed. On PostgreSQL claims use `FOR UPDATE SKIP
LOCKED` and the server's clock, so workers on any number of hosts share the
rows; on SQLite a claim is one `UPDATE … RETURNING` statement, which takes the
file's write lock at once, so the processes of one machine share them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol
from uuid import UUID

import msgspec

TABLE = "payment_effects_due"
FEED_TABLE = "payment_effects_feed"
FEED = "effects"
ERROR_MAX_CHARS = 1000


class Claim(msgspec.Struct, frozen=True):
    """A due payment a worker holds the lease on, with its retry history."""

    payment_id: UUID
    generation: int
    attempts: int
    failing_since: float | None
    alerted: bool
    parked_reason: str | None


class QueueDepth(msgspec.Struct, frozen=True):
    """What the queue holds now, for health checks and metrics."""

    due: int
    parked: int
    oldest_due_seconds: float


class DuePayments(Protocol):
    """The queue; every method is one short transaction and may block on the database."""

    def position(self) -> int:
        """The last notification the feeder has put into the queue."""
        ...

    def feed(self, payment_ids: Iterable[UUID], position: int) -> None:
        """Makes each payment due now and moves the position to `position`, atomically."""
        ...

    def claim(self, owner: str, limit: int, lease_seconds: float) -> list[Claim]: ...

    def extend(self, owner: str, payment_ids: Iterable[UUID], lease_seconds: float) -> None: ...

    def settled(self, claim: Claim, owner: str) -> bool:
        """Removes the row if no newer event arrived; else only drops the lease. True if gone."""
        ...

    def retry_later(
        self, claim: Claim, owner: str, delay: float, error: str, *, alerted: bool
    ) -> None: ...

    def park(self, claim: Claim, owner: str, delay: float, reason: str) -> None: ...

    def release(self, owner: str) -> None:
        """Drops every lease `owner` holds (a worker stopping), keeping the rows due."""
        ...

    def retry_parked_now(self) -> int:
        """Makes every parked payment due now (a worker starting); returns how many."""
        ...

    def depth(self) -> QueueDepth: ...


def claim_of(row: Any) -> Claim:
    return Claim(
        payment_id=UUID(str(row["payment_id"])),
        generation=int(row["generation"]),
        attempts=int(row["attempts"]),
        failing_since=None if row["failing_since"] is None else float(row["failing_since"]),
        alerted=bool(row["alerted"]),
        parked_reason=row["parked_reason"],
    )
