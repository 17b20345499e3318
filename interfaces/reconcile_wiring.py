"""Builds the `Reconcile` use case for the CLI and the worker, from the service's settings."""

from __future__ import annotations

from application.reconcile import Reconcile
from infrastructure.clock import SystemClock
from infrastructure.settings import Settings
from interfaces.composition import Services, _checkout_gateway


def build_reconcile(settings: Settings, services: Services) -> Reconcile:
    """Reconcile over the services' ledger and webhook use case, with its own Stripe client.

    `Services` does not expose its Stripe gateway, so a second client is made here
    (same settings) and closed with the services.
    """
    clock = SystemClock()
    checkout = _checkout_gateway(settings, clock)
    services.closers.append(checkout.aclose)
    return Reconcile(services.ledger, checkout, services.apply_stripe_event, clock)
