"""`POST /create-session` and `GET /status/{orderId}` for the signed-in user."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, MediaType, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, SerializationException, ValidationException
from litestar.openapi.spec import OpenAPIType
from litestar.params import FromPath, JSONBody, KwargDefinition

from application.checkout import CreateCheckoutSession
from application.identity import Caller
from application.ports import DisputeReport, PaymentStatusReport
from application.status import GetPaymentStatus
from domain.money import Money
from interfaces.api_document import error_responses
from interfaces.errors import (
    CONTROL_CHARACTERS_IN_ORDER_ID,
    MAX_ORDER_ID_LENGTH,
    NESTED_TOO_DEEPLY,
    ORDER_ID_REQUIRED,
    BadRequest,
)
from interfaces.rate_limit import PER_USER_RATE_LIMIT

# `{"orderId": "…"}` is a few dozen bytes; Litestar's default would buffer 10 MB.
MAX_CREATE_SESSION_BYTES = 16 * 1024


class CreateSessionRequest(msgspec.Struct, forbid_unknown_fields=False):
    orderId: Annotated[str, msgspec.Meta(max_length=MAX_ORDER_ID_LENGTH)]

    def __post_init__(self) -> None:
        # msgspec reports a ValueError raised here as a validation error of the body.
        if not self.orderId.strip():
            raise ValueError(ORDER_ID_REQUIRED)
        if any(unicodedata.category(char) == "Cc" for char in self.orderId):
            raise ValueError(CONTROL_CHARACTERS_IN_ORDER_ID)


class CheckoutLinkBody(msgspec.Struct):
    checkoutUrl: str
    sessionId: str


# A whole amount is sent as an integer (JPY 1500), others as a decimal (199.98): both are
# a JSON number, which the document says (Litestar would say oneOf integer, number, and
# 1500 is both).
MajorUnits = Annotated[
    int | float, KwargDefinition(schema_extra={"one_of": None, "type": OpenAPIType.NUMBER})
]


def major_units(amount: Money) -> int | float:
    major = amount.to_major()
    return int(major) if major == major.to_integral_value() else float(major)


class DisputeBody(msgspec.Struct):
    """The payment's latest dispute: Stripe's status, reason and disputed amount."""

    status: str
    amount: MajorUnits
    reason: str

    @classmethod
    def of(cls, dispute: DisputeReport | None) -> DisputeBody | None:
        if dispute is None:
            return None
        return cls(status=dispute.status, amount=major_units(dispute.amount), reason=dispute.reason)


class PaymentStatusBody(msgspec.Struct):
    """A payment as its owner sees it; `amount` in major units (199.98, or 1500 for JPY).

    `refundedAmount` is what went back: refunds pending or succeeded and lost disputes
    (0 when none); `status` is REFUNDED once Stripe says all of it succeeded (ADR 0022).
    `refundOwed` is money the service owes back by itself (late money, a wrong amount, an
    order cancelled at the shop) that no refund pending or succeeded covers: not sent yet,
    or failed at Stripe and waiting for a person (0 when none).
    `refundCurrency` is the currency of `refundedAmount`, `refundOwed` and `dispute.amount`:
    the money received, which is `currency` unless it came in another one (ADR 0022).
    """

    orderId: str
    status: str
    amount: MajorUnits
    currency: str
    createdAt: datetime
    updatedAt: datetime
    sessionId: str
    refundedAmount: MajorUnits = 0
    dispute: DisputeBody | None = None
    refundOwed: MajorUnits = 0
    refundCurrency: str = ""

    @classmethod
    def of(cls, report: PaymentStatusReport) -> PaymentStatusBody:
        refunded, owed = report.refunded_amount, report.refund_owed
        return cls(
            orderId=report.order_id,
            status=report.status,
            amount=major_units(report.amount),
            currency=report.amount.currency,
            createdAt=report.created_at,
            updatedAt=report.updated_at,
            sessionId=report.session_id,
            refundedAmount=major_units(refunded) if refunded else 0,
            dispute=DisputeBody.of(report.dispute),
            refundOwed=major_units(owed) if owed else 0,
            refundCurrency=report.refund_currency or report.amount.currency,
        )


CallerRequest = Request[Caller, Any, Any]


async def require_json(request: CallerRequest) -> None:
    """Refuses a body that does not say it is JSON, before anything tries to parse it,
    and one nested deeper than the parser goes (msgspec raises RecursionError)."""
    media_type, _ = request.content_type
    if media_type != MediaType.JSON:
        raise ValidationException("Content-Type must be application/json")
    if not await request.body():
        return
    try:
        await request.json()  # cached: the handler's body is parsed from this
    except RecursionError:
        raise BadRequest(NESTED_TOO_DEEPLY) from None
    except SerializationException as error:
        raise ClientException(str(error)) from error  # as Litestar words a body it cannot read


class PaymentsController(Controller):
    """The signed-in user's payment of an order."""

    tags = ["payments"]

    @post(
        "/create-session",
        status_code=200,
        before_request=require_json,
        request_max_body_size=MAX_CREATE_SESSION_BYTES,
        opt={PER_USER_RATE_LIMIT: True},
        responses=error_responses(400, 401, 404, 413, 429, 500, 503),
    )
    async def create_session(
        self,
        data: JSONBody[CreateSessionRequest],
        request: CallerRequest,
        create_checkout_session: NamedDependency[CreateCheckoutSession],
    ) -> CheckoutLinkBody:
        """Opens (or reopens) the Stripe Checkout page for the caller's PENDING order."""
        link = await create_checkout_session(request.user, data.orderId)
        return CheckoutLinkBody(checkoutUrl=link.checkout_url, sessionId=link.session_id)

    @get("/status/{orderId:str}", responses=error_responses(400, 401, 404, 500))
    async def status(
        self,
        orderId: FromPath[str],
        request: CallerRequest,
        get_payment_status: NamedDependency[GetPaymentStatus],
    ) -> PaymentStatusBody:
        """The payment of an order: its owner's, or any for an admin or auditor."""
        report = await get_payment_status(request.user, orderId)
        return PaymentStatusBody.of(report)
