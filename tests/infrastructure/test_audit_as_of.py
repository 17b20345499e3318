"""As-of replay rebuilds each past state from the events, by version or by time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.ledger import PaymentLedger
from infrastructure.audit.as_of import NothingRecordedThen, payment_as_of
from tests.infrastructure.payment_histories import START, expired


def test_the_state_at_each_version(ledger: PaymentLedger) -> None:
    expired(ledger, "ord_b")
    states = [payment_as_of(ledger, "ord_b", version=v) for v in range(1, 6)]
    assert [s.version for s in states] == [1, 2, 3, 4, 5]
    assert [s.status for s in states] == ["INITIATED", "FAILED", "FAILED", "FAILED", "FAILED"]
    assert [s.facts["releasedProducts"] for s in states] == [
        [], [], ["prod_a"], ["prod_a", "prod_b"], ["prod_a", "prod_b"],
    ]
    assert [s.facts["orderCancelled"] for s in states] == [False] * 4 + [True]
    assert states[0].amount == "204.98" and states[0].session_id == "cs_ord_b"
    assert states[1].facts["failureReason"] == "expired"
    assert states[1].facts["stripeEvents"] == ["evt_ord_b"]


def test_the_state_at_a_time(ledger: PaymentLedger) -> None:
    expired(ledger, "ord_b")
    # Initiated is stamped START; later events are stamped with the wall clock, later still.
    assert payment_as_of(ledger, "ord_b", at=START).version == 1
    assert payment_as_of(ledger, "ord_b", at=START + timedelta(days=3650)).version == 5
    with pytest.raises(NothingRecordedThen, match="nothing recorded"):
        payment_as_of(ledger, "ord_b", at=START - timedelta(seconds=1))


def test_unknown_orders_and_versions_are_errors(ledger: PaymentLedger) -> None:
    expired(ledger, "ord_b")
    with pytest.raises(NothingRecordedThen, match="no payment"):
        payment_as_of(ledger, "ord_missing")
    with pytest.raises(NothingRecordedThen, match="5 versions, not 9"):
        payment_as_of(ledger, "ord_b", version=9)
    with pytest.raises(NothingRecordedThen):
        payment_as_of(ledger, "ord_b", version=0)
