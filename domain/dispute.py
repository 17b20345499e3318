"""Disputes (chargebacks) of a payment's charge, as Stripe reports them (ADR 0022).

A dispute is open until Stripe closes it: `won` (the money stays), `lost` (the money
and a fee went back to the cardholder: counted as returned, like a refund),
`warning_closed` or `prevented` (an inquiry that never became a chargeback). A closed
dispute is final; any status Stripe adds later is treated as open.
"""

from __future__ import annotations

import msgspec

from domain.money import Money

WON = "won"
LOST = "lost"
CLOSED_STATUSES = frozenset({WON, LOST, "warning_closed", "prevented"})


class Dispute(msgspec.Struct, frozen=True):
    dispute_id: str
    amount: Money
    reason: str
    status: str

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    @property
    def is_lost(self) -> bool:
        return self.status == LOST

    def differs_from(self, other: Dispute) -> bool:
        return (self.status, self.amount, self.reason) != (other.status, other.amount, other.reason)
