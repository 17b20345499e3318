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

CHECKOUT_EVENTS = frozenset(
    {CHECKOUT_COMPLETED, CHECKOUT_ASYNC_SUCCEEDED, CHECKOUT_ASYNC_FAILED, CHECKOUT_EXPIRED}
)
HANDLED_EVENTS = CHECKOUT_EVENTS | {PAYMENT_INTENT_FAILED}


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
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise MalformedStripeEvent(str(error)) from error
    return event
