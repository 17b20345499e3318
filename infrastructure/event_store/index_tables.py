"""The reconciliation's indexes in the event store's own database: two tables for all.

- `reconcile_index_rows`: one row per index and payment, its value as JSON (an
  `OpenPayment`, a `Reported`) and its version (the notification that last changed it);
- `reconcile_index_positions`: each index's position in the log.

A batch's rows and its position are written in one transaction, after the position's
row is locked (PostgreSQL `FOR UPDATE`; SQLite's write lock, taken by a first write):
a second process catching up at the same time waits, then folds only the notifications
after the position the first one stored. A store written before these tables existed
gets them on first use, at position 0: the first catch-up reads the log once, and
every later one only what is new (ADR 0018).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic
from uuid import UUID

import msgspec

from application.index_rows import IndexRow, Row

ROWS_TABLE = "reconcile_index_rows"
POSITIONS_TABLE = "reconcile_index_positions"


class RowCodec(Generic[Row]):
    """An index's rows to and from the JSON text the tables hold."""

    def __init__(self, value_type: type[Row]) -> None:
        self._decoder = msgspec.json.Decoder(value_type)
        self._encoder = msgspec.json.Encoder()

    def encode(self, value: Row) -> str:
        return self._encoder.encode(value).decode()

    def row(self, record: Any) -> IndexRow[Row]:
        payment_id = record["payment_id"]
        return IndexRow(
            payment_id if isinstance(payment_id, UUID) else UUID(str(payment_id)),
            self._decoder.decode(record["value"]),
            int(record["version"]),
        )

    def rows(self, records: Iterable[Any]) -> dict[UUID, IndexRow[Row]]:
        return {row.payment_id: row for row in map(self.row, records)}
