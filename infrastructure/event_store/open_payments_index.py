"""The reconciliation's index of open payments, kept up to date by the log follower."""

from __future__ import annotations

from application.ledger import PaymentLedger
from application.open_payments import OpenPayment, OpenPayments
from infrastructure.event_store.log_follower import LogFollower


class FollowedOpenPayments:
    """`OpenPaymentsIndex` that catches up with the log's opening and closing events."""

    def __init__(self, ledger: PaymentLedger) -> None:
        self._payments = OpenPayments(ledger)
        self._follower = LogFollower(ledger, self._payments, topics=OpenPayments.topics)

    def refresh(self) -> list[OpenPayment]:
        self._follower.catch_up()
        return self._payments.open
