"""`POST /webhook`: Stripe's signed event deliveries."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency

from application.apply_stripe_event import ApplyStripeEvent
from application.stripe_events import MalformedStripeEvent, StripeEvent, decode_stripe_event
from infrastructure.metrics.instruments import ServiceMetrics
from interfaces.api_document import WebhookOperation, error_responses
from interfaces.webhook_signature import InvalidSignature, WebhookSignature

log = logging.getLogger(__name__)
MAX_WEBHOOK_BYTES = 256 * 1024  # Stripe's events are a few KiB; anything this big is not one
# The metrics' event type of a delivery that was not verified: its body may say anything.
UNVERIFIED = "unverified"


class WebhookAck(msgspec.Struct):
    received: bool = True


@dataclass(frozen=True, slots=True)
class WebhookIntake:
    """What a delivery needs, as one dependency: Litestar resolves several of a handler's
    dependencies in a task group of their own on every request (7 % of a webhook's
    samples in issue 15's profile; one bundle measured about +20 % requests per CPU-second).
    """

    signature: WebhookSignature
    apply: ApplyStripeEvent
    meter: ServiceMetrics


class WebhookController(Controller):
    """Verifies, decodes and records Stripe events; 200 means "recorded, do not resend"."""

    tags = ["webhook"]

    @post(
        "/webhook",
        status_code=200,
        exclude_from_auth=True,
        request_max_body_size=MAX_WEBHOOK_BYTES,
        operation_class=WebhookOperation,
        # 500: not recorded, so Stripe sends it again.
        responses=error_responses(400, 413, 500),
    )
    async def receive(
        self,
        request: Request[Any, Any, Any],
        webhook_intake: NamedDependency[WebhookIntake],
    ) -> WebhookAck:
        """Answers 200 once the event is durably recorded (or known to need nothing)."""
        webhook_signature, webhook_meter = webhook_intake.signature, webhook_intake.meter
        body = await request.body()
        try:
            webhook_signature.verify(body, request.headers.get("stripe-signature"))
            event = _decoded(body)
        except (InvalidSignature, MalformedStripeEvent):
            webhook_meter.webhook_event(UNVERIFIED, "rejected")
            raise
        if not event.is_handled:
            log.info(
                "stripe event type not handled",
                extra={"eventId": event.id, "eventType": event.type},
            )
            webhook_meter.webhook_event(event.type, "ignored")
            return WebhookAck()
        try:
            outcome = await webhook_intake.apply(event)
        except Exception:
            webhook_meter.webhook_event(event.type, "failed")  # 500: Stripe sends it again
            raise
        webhook_meter.webhook_event(event.type, outcome.value)
        return WebhookAck()


def _decoded(body: bytes) -> StripeEvent:
    """The verified body as an event; too deeply nested for msgspec is as unreadable as bad JSON."""
    try:
        return decode_stripe_event(body)
    except RecursionError:
        raise MalformedStripeEvent("nested too deeply to decode") from None
