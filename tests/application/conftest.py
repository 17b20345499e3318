"""Application tests run the use cases on a real event store (SQLite and PostgreSQL)
with in-memory fakes behind every other port."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from application.apply_stripe_event import ApplyStripeEvent
from application.checkout import CreateCheckoutSession
from application.identity import Caller
from application.ledger import PaymentLedger
from application.status import GetPaymentHistory, GetPaymentStatus
from domain.lifecycle import FailedPaymentPolicy
from domain.payment import Payment
from tests.fakes import (
    FakeCheckoutGateway,
    FakeOrderDirectory,
    FixedClock,
    InMemoryStatusView,
    an_order,
)

BUYER = Caller("user_1", "buyer@example.com")
STRANGER = Caller("user_2", "other@example.com")
AUDITOR = Caller("auditor_1", "audit@example.com", role="auditor")


@dataclass
class World:
    ledger: PaymentLedger
    clock: FixedClock
    orders: FakeOrderDirectory
    stripe: FakeCheckoutGateway
    view: InMemoryStatusView

    def create_session(self) -> CreateCheckoutSession:
        return CreateCheckoutSession(self.ledger, self.orders, self.stripe, self.clock)

    def apply(self, policy: FailedPaymentPolicy = FailedPaymentPolicy.CANCEL) -> ApplyStripeEvent:
        return ApplyStripeEvent(self.ledger, policy)

    def status(self) -> GetPaymentStatus:
        return GetPaymentStatus(self.view, self.ledger)

    def history(self) -> GetPaymentHistory:
        return GetPaymentHistory(self.ledger)

    def payment(self, order_id: str) -> Payment:
        """The order's payment as the store has it; the test expects there to be one."""
        payment = self.ledger.find(order_id)
        assert payment is not None, order_id
        return payment


@pytest.fixture
def world(ledger: PaymentLedger) -> World:
    clock = FixedClock()
    orders = FakeOrderDirectory()
    orders.add(an_order("ord_1", "user_1"))
    return World(ledger, clock, orders, FakeCheckoutGateway(clock), InMemoryStatusView())
