"""The Stripe events the service acts on, decoded leniently from Stripe's JSON.

Real payloads carry many more fields than these, many of them null: unknown
fields are ignored, the fields relied on are validated.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

CHECKOUT_COMPLETED = "checkout.session.completed"
CHECKOUT_ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
CHECKOUT_ASYNC_FAILED = "checkout.session.async_payment_failed"
CHECKOUT_EXPIRED = "checkout.session.expired"
PAYMENT_INTENT_FAILED = "payment_intent.payment_failed"
REFUND_CREATED = "refund.created"
REFUND_UPDATED = "refund.updated"
REFUND_FAILED = "refund.failed"
CHARGE_REFUND_UPDATED = "charge.refund.updated"
CHARGE_REFUNDED = "charge.refunded"
DISPUTE_CREATED = "charge.dispute.created"
DISPUTE_UPDATED = "charge.dispute.updated"
DISPUTE_CLOSED = "charge.dispute.closed"
DISPUTE_FUNDS_WITHDRAWN = "charge.dispute.funds_withdrawn"
DISPUTE_FUNDS_REINSTATED = "charge.dispute.funds_reinstated"

CHECKOUT_EVENTS = frozenset(
    {CHECKOUT_COMPLETED, CHECKOUT_ASYNC_SUCCEEDED, CHECKOUT_ASYNC_FAILED, CHECKOUT_EXPIRED}
)
REFUND_EVENTS = frozenset({REFUND_CREATED, REFUND_UPDATED, REFUND_FAILED, CHARGE_REFUND_UPDATED})
"""Events whose object is a Refund (`charge.refund.updated` too, despite its name)."""
DISPUTE_EVENTS = frozenset(
    {
        DISPUTE_CREATED,
        DISPUTE_UPDATED,
        DISPUTE_CLOSED,
        DISPUTE_FUNDS_WITHDRAWN,
        DISPUTE_FUNDS_REINSTATED,
    }
)
MONEY_BACK_EVENTS = REFUND_EVENTS | DISPUTE_EVENTS | {CHARGE_REFUNDED}
"""Money going back: found through the object's PaymentIntent when no orderId names it."""
HANDLED_EVENTS = CHECKOUT_EVENTS | {PAYMENT_INTENT_FAILED} | MONEY_BACK_EVENTS
"""Every event type the service acts on: the webhook endpoint must be sent these."""


class CustomerDetails(msgspec.Struct):
    email: str | None = None


class CheckoutSessionObject(msgspec.Struct):
    """Stripe's JSON of a Checkout Session, where it crosses from Stripe to us: a webhook
    event's `data.object`, or an API answer to the Stripe gateway (which reads `url` and
    `expires_at` too). The use cases behind the `CheckoutGateway` port see `CheckoutSession`.
    """

    id: str
    url: str | None = None
    expires_at: int | None = None
    created: int | None = None
    status: str | None = None
    payment_status: str | None = None
    payment_intent: str | None = None
    client_reference_id: str | None = None
    metadata: dict[str, str] | None = None
    amount_total: int | None = None
    currency: str | None = None
    customer_email: str | None = None
    customer_details: CustomerDetails | None = None

    @property
    def order_id(self) -> str | None:
        return (self.metadata or {}).get("orderId") or self.client_reference_id

    @property
    def payer_email(self) -> str:
        details = self.customer_details.email if self.customer_details else None
        return details or self.customer_email or ""


class PaymentError(msgspec.Struct):
    message: str | None = None
    code: str | None = None
    decline_code: str | None = None


class PaymentIntentObject(msgspec.Struct):
    id: str
    metadata: dict[str, str] | None = None
    last_payment_error: PaymentError | None = None

    @property
    def order_id(self) -> str | None:
        return (self.metadata or {}).get("orderId")

    @property
    def checkout_attempt(self) -> str | None:
        """The create attempt that opened the intent's Checkout Session (our metadata)."""
        return (self.metadata or {}).get("checkoutAttempt")

    @property
    def decline_message(self) -> str:
        error = self.last_payment_error
        return (error.message or error.code or "") if error else ""


Amount = Annotated[int, msgspec.Meta(ge=0)]
Currency = Annotated[str, msgspec.Meta(min_length=3, max_length=3)]


class RefundObject(msgspec.Struct):
    """A Refund: ours carry `metadata` {orderId, refundId}; one made in the dashboard none."""

    id: str
    amount: Amount
    currency: Currency
    status: str | None = None
    payment_intent: str | None = None
    charge: str | None = None
    reason: str | None = None
    metadata: dict[str, str] | None = None

    @property
    def order_id(self) -> str | None:
        return (self.metadata or {}).get("orderId")

    @property
    def ours(self) -> str | None:
        """The key of the refund of ours it is, if we made it."""
        return (self.metadata or {}).get("refundId")


class RefundList(msgspec.Struct):
    data: list[RefundObject] = msgspec.field(default_factory=list)


class ChargeObject(msgspec.Struct):
    """A Charge: `amount_refunded` is the running total of its refunds, the dashboard's too;
    `refunds` is listed only by older API versions (or when expanded)."""

    id: str
    amount_refunded: Amount
    currency: Currency
    payment_intent: str | None = None
    metadata: dict[str, str] | None = None
    refunds: RefundList | None = None

    @property
    def order_id(self) -> str | None:
        return (self.metadata or {}).get("orderId")


class DisputeObject(msgspec.Struct):
    """A Dispute (chargeback); its metadata is its own, so it is found by its PaymentIntent."""

    id: str
    amount: Amount
    currency: Currency
    status: str
    reason: str | None = None
    payment_intent: str | None = None
    charge: str | None = None
    metadata: dict[str, str] | None = None

    @property
    def order_id(self) -> str | None:
        return (self.metadata or {}).get("orderId")


class EventData(msgspec.Struct):
    object: dict[str, Any]


EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
"""Stripe's event ids (`evt_…`) are short; an empty or huge one is no event of Stripe's."""


class StripeEvent(msgspec.Struct, dict=True):
    """A Stripe event envelope; `data.object` is typed on demand by `event.checkout_session`…,
    once per event (decoding validates it, the use case reads it several times)."""

    id: EventId
    type: str
    data: EventData
    created: int | None = None
    livemode: bool = False

    @property
    def is_handled(self) -> bool:
        return self.type in HANDLED_EVENTS

    def checkout_session(self) -> CheckoutSessionObject:
        session = self.__dict__.get("_session")
        if not isinstance(session, CheckoutSessionObject):
            session = self.__dict__["_session"] = msgspec.convert(
                self.data.object, CheckoutSessionObject
            )
        return session

    def payment_intent(self) -> PaymentIntentObject:
        intent = self.__dict__.get("_intent")
        if not isinstance(intent, PaymentIntentObject):
            intent = self.__dict__["_intent"] = msgspec.convert(
                self.data.object, PaymentIntentObject
            )
        return intent

    def refund(self) -> RefundObject:
        refund = self.__dict__.get("_refund")
        if not isinstance(refund, RefundObject):
            refund = self.__dict__["_refund"] = msgspec.convert(self.data.object, RefundObject)
        return refund

    def charge(self) -> ChargeObject:
        charge = self.__dict__.get("_charge")
        if not isinstance(charge, ChargeObject):
            charge = self.__dict__["_charge"] = msgspec.convert(self.data.object, ChargeObject)
        return charge

    def dispute(self) -> DisputeObject:
        dispute = self.__dict__.get("_dispute")
        if not isinstance(dispute, DisputeObject):
            dispute = self.__dict__["_dispute"] = msgspec.convert(self.data.object, DisputeObject)
        return dispute

    def money_back(self) -> RefundObject | ChargeObject | DisputeObject:
        """The object of a refund, charge or dispute event (`MONEY_BACK_EVENTS`)."""
        if self.type in REFUND_EVENTS:
            return self.refund()
        if self.type in DISPUTE_EVENTS:
            return self.dispute()
        return self.charge()


class MalformedStripeEvent(ValueError):
    """The (authenticated) body is not a Stripe event we can read."""


def decode_stripe_event(body: bytes) -> StripeEvent:
    """Decodes a verified webhook body; the typed object is validated for handled types."""
    try:
        event = msgspec.json.decode(body, type=StripeEvent)
        if event.type in CHECKOUT_EVENTS:
            event.checkout_session()
        elif event.type == PAYMENT_INTENT_FAILED:
            event.payment_intent()
        elif event.type in MONEY_BACK_EVENTS:
            event.money_back()
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise MalformedStripeEvent(str(error)) from error
    return event
