"""`/_sandbox/refunds…` and `/_sandbox/disputes…`: what happens to money after a payment
that no API call of the merchant's makes happen.

A refund from the Dashboard (no metadata of the service's), a refund's later
outcome (the bank's), and a dispute's life (the cardholder's bank's). Answers are
the Stripe objects; refusals are Stripe-style 400s, unknown ids 404s.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import post

from sandbox.stripe_api.charges import find_charge
from sandbox.stripe_api.disputes import close_dispute, load_dispute, open_dispute, review_dispute
from sandbox.stripe_api.errors import resource_missing
from sandbox.stripe_api.events import RequestOrigin
from sandbox.stripe_api.ids import new_id
from sandbox.stripe_api.objects import public
from sandbox.stripe_api.refund_outcomes import (
    DEFAULT_FAILURE_REASON,
    cancel_refund,
    fail_refund,
    succeed_refund,
)
from sandbox.stripe_api.refunds import issue_refund, load_refund
from sandbox.stripe_api.state import Sandbox


class PaidCharge(msgspec.Struct, kw_only=True):
    """Names the charge by one of its ids: a paid Checkout Session, PaymentIntent or Charge."""

    checkout_session: str | None = None
    payment_intent: str | None = None
    charge: str | None = None


class DashboardRefund(PaidCharge, kw_only=True):
    amount: int | None = None  # minor units; None refunds all that remains
    reason: str | None = None


class DisputeOpening(PaidCharge, kw_only=True):
    amount: int | None = None  # minor units; None disputes all not refunded
    reason: str = "fraudulent"


class RefundFailure(msgspec.Struct):
    failure_reason: str = DEFAULT_FAILURE_REASON


@post("/_sandbox/refunds", status_code=200)
async def dashboard_refund(sandbox: Sandbox, data: DashboardRefund) -> dict[str, Any]:
    """A refund made in Stripe's Dashboard: the same events as the API's, no metadata."""
    charge = _charge(sandbox, data)
    dashboard = RequestOrigin(new_id("req", 14), None)
    return public(issue_refund(sandbox, charge, data.amount, {}, data.reason, dashboard))


@post("/_sandbox/refunds/{refund_id:str}/succeed", status_code=200)
async def refund_succeeds(sandbox: Sandbox, refund_id: str) -> dict[str, Any]:
    return public(succeed_refund(sandbox, _refund(sandbox, refund_id)))


@post("/_sandbox/refunds/{refund_id:str}/fail", status_code=200)
async def refund_fails(
    sandbox: Sandbox, refund_id: str, data: RefundFailure | None = None
) -> dict[str, Any]:
    reason = (data or RefundFailure()).failure_reason
    return public(fail_refund(sandbox, _refund(sandbox, refund_id), reason))


@post("/_sandbox/refunds/{refund_id:str}/cancel", status_code=200)
async def refund_canceled(sandbox: Sandbox, refund_id: str) -> dict[str, Any]:
    return public(cancel_refund(sandbox, _refund(sandbox, refund_id)))


@post("/_sandbox/disputes", status_code=200)
async def dispute_opened(sandbox: Sandbox, data: DisputeOpening) -> dict[str, Any]:
    return public(open_dispute(sandbox, _charge(sandbox, data), data.amount, data.reason))


@post("/_sandbox/disputes/{dispute_id:str}/review", status_code=200)
async def dispute_reviewed(sandbox: Sandbox, dispute_id: str) -> dict[str, Any]:
    return public(review_dispute(sandbox, _dispute(sandbox, dispute_id)))


@post("/_sandbox/disputes/{dispute_id:str}/win", status_code=200)
async def dispute_won(sandbox: Sandbox, dispute_id: str) -> dict[str, Any]:
    return public(close_dispute(sandbox, _dispute(sandbox, dispute_id), won=True))


@post("/_sandbox/disputes/{dispute_id:str}/lose", status_code=200)
async def dispute_lost(sandbox: Sandbox, dispute_id: str) -> dict[str, Any]:
    return public(close_dispute(sandbox, _dispute(sandbox, dispute_id), won=False))


def _charge(sandbox: Sandbox, named: PaidCharge) -> dict[str, Any]:
    return find_charge(
        sandbox,
        charge_id=named.charge,
        payment_intent=named.payment_intent,
        checkout_session=named.checkout_session,
    )


def _refund(sandbox: Sandbox, refund_id: str) -> dict[str, Any]:
    refund = load_refund(sandbox, refund_id)
    if refund is None:
        raise resource_missing("refund", refund_id)
    return refund


def _dispute(sandbox: Sandbox, dispute_id: str) -> dict[str, Any]:
    dispute = load_dispute(sandbox, dispute_id)
    if dispute is None:
        raise resource_missing("dispute", dispute_id)
    return dispute


ROUTES = [
    dashboard_refund,
    refund_succeeds,
    refund_fails,
    refund_canceled,
    dispute_opened,
    dispute_reviewed,
    dispute_won,
    dispute_lost,
]
