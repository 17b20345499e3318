"""Use cases for readers: a payment's status, and its full history."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from application.errors import OrderNotFound
from application.identity import Caller
from application.ledger import PaymentLedger
from application.ports import DisputeReport, PaymentStatusReport, PaymentStatusView
from domain.audit_chain import CHAIN_FIELDS
from domain.payment import Payment, payment_id_for


def report_of(payment: Payment) -> PaymentStatusReport:
    """The status report of a payment, rebuilt from the event store."""
    refunded = payment.refunded_amount
    owed = payment.refund_owed
    dispute = payment.dispute
    return PaymentStatusReport(
        order_id=payment.order_id,
        user_id=payment.user_id,
        status=payment.status.value,
        amount=payment.amount,
        session_id=payment.checkout_session_id,
        created_at=payment.created_on,
        updated_at=payment.modified_on,
        version=payment.version,
        payment_intent=payment.payment_intent,
        customer_email=payment.customer_email,
        user_email=payment.user_email,
        refunded_amount=refunded if refunded.minor else None,
        dispute=DisputeReport(dispute.status, dispute.amount, dispute.reason) if dispute else None,
        refund_owed=owed if owed.minor else None,
        refund_currency=payment.refund_currency,
    )


class GetPaymentStatus:
    """Answers from the read model; falls back to the store for a write it has not seen yet."""

    def __init__(self, view: PaymentStatusView, ledger: PaymentLedger) -> None:
        self._view = view
        self._ledger = ledger

    async def __call__(self, caller: Caller, order_id: str) -> PaymentStatusReport:
        report = await self._view.get(order_id)
        if report is None:
            payment = await asyncio.to_thread(self._ledger.find, order_id)
            report = report_of(payment) if payment is not None else None
        if report is None or not caller.may_read(report.user_id):
            raise OrderNotFound(order_id)
        return report


class HistoryEntry(msgspec.Struct, frozen=True):
    version: int
    type: str
    recorded_at: str
    data: dict[str, Any]
    previous_hash: str
    chain_hash: str


class GetPaymentHistory:
    """Every recorded event of an order's payment, oldest first, for its owner or an auditor."""

    def __init__(self, ledger: PaymentLedger) -> None:
        self._ledger = ledger

    async def __call__(self, caller: Caller, order_id: str) -> list[HistoryEntry]:
        return await asyncio.to_thread(self._history, caller, order_id)

    def _history(self, caller: Caller, order_id: str) -> list[HistoryEntry]:
        events = list(self._ledger.history(payment_id_for(order_id)))
        if not events:
            raise OrderNotFound(order_id)
        owner = vars(events[0]).get("user_id", "")
        if not caller.may_read(owner):
            raise OrderNotFound(order_id)
        return [_entry(event) for event in events]


def _entry(event: object) -> HistoryEntry:
    state = vars(event)
    data = {
        key: msgspec.to_builtins(value)
        for key, value in state.items()
        if key not in CHAIN_FIELDS and key != "originator_topic"
    }
    return HistoryEntry(
        version=state["originator_version"],
        type=type(event).__name__,
        recorded_at=state["timestamp"].isoformat(),
        data=data,
        previous_hash=state["previous_hash"],
        chain_hash=state["chain_hash"],
    )
