"""Side effects a payment still owes the outside world, derived from its events."""

from __future__ import annotations

import msgspec

from domain.money import Money


class ConfirmOrder(msgspec.Struct, frozen=True):
    order_id: str


class CloseCheckout(msgspec.Struct, frozen=True):
    """Expire the Checkout Session at Stripe so a declined order can no longer be paid."""

    order_id: str
    session_id: str


class ReleaseStock(msgspec.Struct, frozen=True):
    order_id: str
    product_id: str
    quantity: int


class CancelOrder(msgspec.Struct, frozen=True):
    order_id: str


class RefundPayment(msgspec.Struct, frozen=True):
    """Give money back: the order's own (`stray_session` None) or a stray session's."""

    order_id: str
    payment_intent: str
    amount: Money
    stray_session: str | None = None


class IssueRefund(msgspec.Struct, frozen=True):
    """Send a refund an operator ordered (`Payment.request_refund`) to Stripe, under a key of
    its own, `refund:{refund_id}`: one order may have many."""

    order_id: str
    refund_id: str
    payment_intent: str
    amount: Money
    reason: str | None = None


Effect = ConfirmOrder | CloseCheckout | ReleaseStock | CancelOrder | RefundPayment | IssueRefund
