"""The reconciliation's index of payments with refunds or disputes Stripe has not settled,
kept up to date by the log follower (the sibling of `open_payments_index`)."""

from __future__ import annotations

from application.ledger import PaymentLedger
from application.unsettled_money_back import UnsettledMoneyBack, UnsettledMoneyBackPayments
from infrastructure.event_store.log_follower import LogFollower


class FollowedUnsettledMoneyBack:
    """`UnsettledMoneyBackIndex` that catches up with the log's refund and dispute reports."""

    def __init__(self, ledger: PaymentLedger) -> None:
        self._payments = UnsettledMoneyBackPayments(ledger)
        self._follower = LogFollower(
            ledger, self._payments, topics=UnsettledMoneyBackPayments.topics
        )

    def refresh(self) -> list[UnsettledMoneyBack]:
        self._follower.catch_up()
        return self._payments.unsettled()
