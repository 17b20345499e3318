"""The reconciliation's index of open payments, kept up to date by the log follower.

Its rows and position are kept in the event store's own database (ADR 0018), so a new
index on the same store (a process start, a one-off `payments reconcile`) reads only
the opening and closing events stored after that position.
"""

from __future__ import annotations

from application.index_rows import IndexRows
from application.ledger import PaymentLedger
from application.open_payments import OpenPayment, OpenPayments
from infrastructure.event_store.index_rows_for_store import index_rows_for
from infrastructure.event_store.log_follower import LogFollower


class FollowedOpenPayments:
    """`OpenPaymentsIndex` that catches up with the log's opening and closing events."""

    def __init__(self, ledger: PaymentLedger, rows: IndexRows[OpenPayment] | None = None) -> None:
        if rows is None:
            rows = index_rows_for(ledger, OpenPayments.name, OpenPayment)
        self._ledger = ledger
        self._rows = rows
        self._payments = OpenPayments(ledger, rows)
        self._follower = LogFollower(ledger, self._payments, topics=OpenPayments.topics)

    def refresh(self) -> list[OpenPayment]:
        end = self._ledger.last_notification_id()  # a committed prefix: ids commit in order
        self._follower.catch_up()
        self._rows.advance(end)  # past the notifications of other topics
        return self._payments.open
