"""Where an index fed by the log keeps one row per payment, and its position in the log.

The reconciliation's indexes (`open_payments`, `unsettled_money_back`) decide what a
notification does to a payment's row (a `Fold`); `IndexRows` keeps the rows and the
position together, so a batch and its position are stored at once, and a process that
starts again reads only the notifications after the stored position. The event store's
own database keeps them in production (`infrastructure/event_store/index_tables.py`);
`InMemoryIndexRows` keeps them for the life of one object.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from eventsourcing.persistence import Notification

Row = TypeVar("Row")
Fold = Callable[[Row | None, Notification], Row | None]
"""A payment's row after one notification (None: no row); the same object if unchanged."""


@dataclass(frozen=True, slots=True)
class IndexRow(Generic[Row]):
    """A payment's row, and the notification that last changed it (its version)."""

    payment_id: UUID
    value: Row
    version: int


class IndexRows(Protocol[Row]):
    """One index's rows and position; every method may block on its database."""

    def position(self) -> int:
        """The last notification folded in (0 before the first)."""
        ...

    def fold(self, notifications: Sequence[Notification], fold: Fold[Row]) -> None:
        """Folds each notification after the stored position into its payment's row, in log
        order, and stores the batch's last id as the position, all at once. A batch another
        process stored meanwhile is not folded twice."""
        ...

    def advance(self, position: int) -> None:
        """Moves the position to `position` if it is behind, for an index that has folded
        every notification up to it (its topics are rare: without this, each catch-up
        would search the log from the last one it took to the end)."""
        ...

    def rows(self) -> list[IndexRow[Row]]: ...

    def replace(self, payment_id: UUID, version: int, value: Row | None) -> bool:
        """Sets (None: removes) the row if it is still at `version`; False if it moved on."""
        ...


class InMemoryIndexRows(Generic[Row]):
    """`IndexRows` in a dict: a new object reads the log from the start again."""

    def __init__(self) -> None:
        self._rows: dict[UUID, IndexRow[Row]] = {}
        self._position = 0

    def position(self) -> int:
        return self._position

    def fold(self, notifications: Sequence[Notification], fold: Fold[Row]) -> None:
        fold_into(self._rows, notifications, self._position, fold)
        if notifications:
            self._position = max(self._position, notifications[-1].id)

    def advance(self, position: int) -> None:
        self._position = max(self._position, position)

    def rows(self) -> list[IndexRow[Row]]:
        return list(self._rows.values())

    def replace(self, payment_id: UUID, version: int, value: Row | None) -> bool:
        known = self._rows.get(payment_id)
        if known is None or known.version != version:
            return False
        if value is None:
            del self._rows[payment_id]
        else:
            self._rows[payment_id] = IndexRow(payment_id, value, version)
        return True


def fold_into(
    rows: dict[UUID, IndexRow[Row]],
    notifications: Sequence[Notification],
    position: int,
    fold: Fold[Row],
) -> set[UUID]:
    """Folds the notifications after `position` into `rows`; returns the payments whose
    row changed (set, or removed: no longer in `rows`)."""
    changed: set[UUID] = set()
    for notification in notifications:
        if notification.id <= position:
            continue
        payment_id = payment_id_of(notification)
        known = rows.get(payment_id)
        before = None if known is None else known.value
        after = fold(before, notification)
        if after is None and known is not None:
            del rows[payment_id]
            changed.add(payment_id)
        elif after is not None and after is not before:
            rows[payment_id] = IndexRow(payment_id, after, notification.id)
            changed.add(payment_id)
    return changed


def payment_id_of(notification: Notification) -> UUID:
    value = notification.originator_id
    return value if isinstance(value, UUID) else UUID(str(value))
