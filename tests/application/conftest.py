"""Application tests run the use cases on a real event store (SQLite and PostgreSQL)
with in-memory fakes behind every other port, as `bootstrap` builds them."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from application.apply_stripe_event import ApplyStripeEvent
from application.checkout import CreateCheckoutSession
from application.identity import Caller
from application.ledger import PaymentLedger
from application.reconcile import Reconcile
from application.status import GetPaymentHistory, GetPaymentStatus
from domain.lifecycle import FailedPaymentPolicy
from domain.payment import Payment
from interfaces.composition import ServiceGraph, bootstrap
from tests.fakes import (
    FakeCheckoutGateway,
    FakeInventory,
    FakeOrderDirectory,
    FixedClock,
    InMemoryStatusView,
    an_order,
)
from tests.service_graph import settings_for_tests

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
    inventory: FakeInventory = field(default_factory=FakeInventory)

    def graph(self, policy: FailedPaymentPolicy = FailedPaymentPolicy.CANCEL) -> ServiceGraph:
        """The service's graph over this world's store and fakes (no background workers)."""
        return bootstrap(
            settings_for_tests(payment_failed_policy=policy),
            ledger=self.ledger,
            orders=self.orders,
            inventory=self.inventory,
            checkout=self.stripe,
            status_view=self.view,
            clock=self.clock,
            workers=[],
        )

    def create_session(self) -> CreateCheckoutSession:
        return self.graph().create_checkout_session

    def apply(self, policy: FailedPaymentPolicy = FailedPaymentPolicy.CANCEL) -> ApplyStripeEvent:
        return self.graph(policy).apply_stripe_event

    def status(self) -> GetPaymentStatus:
        return self.graph().get_payment_status

    def history(self) -> GetPaymentHistory:
        return self.graph().get_payment_history

    def reconcile(self) -> Reconcile:
        return self.graph().reconcile

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
