"""Builders for domain tests: an initiated payment and Stripe-ish identifiers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.lifecycle import PaymentStatus
from domain.payment import Payment
from tests.fakes import an_order

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def initiated_payment(**order_overrides: Any) -> Payment:
    order = an_order(**order_overrides)
    return Payment.initiate(
        order,
        user_email="buyer@example.com",
        checkout_session_id="cs_test_1",
        checkout_url="https://checkout.example/cs_test_1",
        expires_at=NOW + timedelta(minutes=30),
        at=NOW,
    )


def status_of(payment: Payment) -> PaymentStatus:
    """The status now: a type checker would keep one asserted before a command changed it."""
    return payment.status


@pytest.fixture
def payment() -> Payment:
    return initiated_payment()
