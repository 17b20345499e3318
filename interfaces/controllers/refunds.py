"""`POST /refunds`: an admin orders a refund; 202 once it is recorded, Stripe called later."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler

from application.errors import AdminRoleRequired
from application.identity import Caller
from application.refunds import RefundAccepted, RequestRefund
from domain.money import Money
from interfaces.api_document import RefundOperation, error_responses
from interfaces.controllers.payments import MajorUnits, require_json
from interfaces.refund_request import idempotency_key_of, refund_request_of

# `{"orderId", "amount", "reason"}` is well under 1 KiB.
MAX_REFUND_BYTES = 16 * 1024
PENDING = "pending"


class RefundAcceptedBody(msgspec.Struct):
    """The refund recorded; `status` is `pending` until Stripe's answer (see the history)."""

    refundId: str
    orderId: str
    amount: MajorUnits
    currency: str
    status: str

    @classmethod
    def of(cls, accepted: RefundAccepted) -> RefundAcceptedBody:
        return cls(
            refundId=accepted.refund_id,
            orderId=accepted.order_id,
            amount=_major_units(accepted.amount),
            currency=accepted.amount.currency,
            status=PENDING,
        )


def _major_units(money: Money) -> int | float:
    major = money.to_major()
    return int(major) if major == major.to_integral_value() else float(major)


async def admin_only(
    connection: ASGIConnection[Any, Caller, Any, Any], _: BaseRouteHandler
) -> None:
    """Refused before the key or the body is read: a non-admin learns nothing of either."""
    if not connection.user.may_refund:
        raise AdminRoleRequired(connection.user.user_id)


class RefundsController(Controller):
    """Refunds ordered by an operator (full or partial, idempotent per key)."""

    tags = ["refunds"]

    @post(
        "/refunds",
        status_code=202,
        guards=[admin_only],
        before_request=require_json,
        request_max_body_size=MAX_REFUND_BYTES,
        operation_class=RefundOperation,
        responses=error_responses(400, 401, 403, 404, 409, 413, 500),
    )
    async def refund(
        self,
        request: Request[Caller, Any, Any],
        request_refund: NamedDependency[RequestRefund],
    ) -> RefundAcceptedBody:
        """Records the refund and answers 202; the effects queue then asks Stripe for it."""
        key = idempotency_key_of(request.headers.get("idempotency-key"))
        order = refund_request_of(await request.body())
        accepted = await request_refund(request.user, key, order)
        return RefundAcceptedBody.of(accepted)
