"""The reconciliation's index of payments with refunds or disputes Stripe has not settled,
kept up to date by the log follower (the sibling of `open_payments_index`).

Its rows and position are kept in the event store's own database (ADR 0018), so a new
index on the same store reads only the refund and dispute reports stored after that
position.
"""

from __future__ import annotations

from application.index_rows import IndexRows
from application.ledger import PaymentLedger
from application.unsettled_money_back import (
    Reported,
    UnsettledMoneyBack,
    UnsettledMoneyBackPayments,
)
from infrastructure.event_store.index_rows_for_store import index_rows_for
from infrastructure.event_store.log_follower import LogFollower


class FollowedUnsettledMoneyBack:
    """`UnsettledMoneyBackIndex` that catches up with the log's refund and dispute reports."""

    def __init__(self, ledger: PaymentLedger, rows: IndexRows[Reported] | None = None) -> None:
        if rows is None:
            rows = index_rows_for(ledger, UnsettledMoneyBackPayments.name, Reported)
        self._ledger = ledger
        self._rows = rows
        self._payments = UnsettledMoneyBackPayments(ledger, rows)
        self._follower = LogFollower(
            ledger, self._payments, topics=UnsettledMoneyBackPayments.topics
        )

    def refresh(self) -> list[UnsettledMoneyBack]:
        end = self._ledger.last_notification_id()  # a committed prefix: ids commit in order
        self._follower.catch_up()
        self._rows.advance(end)  # past the notifications of other topics
        return self._payments.unsettled()
