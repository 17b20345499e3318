"""`CheckoutGateway` over Stripe's API with the official SDK (async, over httpx)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import msgspec
import stripe

from application.errors import CheckoutRejected, CheckoutUnavailable
from application.ports import (
    CheckoutRequest,
    CheckoutSession,
    Clock,
    PaymentIntentState,
    RefundReceipt,
)
from application.stripe_events import (
    HANDLED_EVENTS,
    CheckoutSessionObject,
    DisputeObject,
    MalformedStripeEvent,
    RefundObject,
    StripeEvent,
    decode_stripe_event,
)
from domain.money import Money
from infrastructure.stripe.checkout_params import (
    ATTEMPT_METADATA,
    MAX_EXPIRES_MINUTES,
    MIN_EXPIRES_MINUTES,
    session_attempt,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

EVENTS_PAGE_SIZE = 100
# Stripe's `GET /v1/events` takes at most 20 `types[]`; more are asked for in several lists.
TYPES_PER_LISTING = 20
SESSIONS_PAGE_SIZE = 100
# Creates of one order within one time bucket, each under its own key, before giving up
# until the next bucket: each failed one costs the next attempt a replayed answer.
KEYS_PER_BUCKET = 8
REFUNDS_PAGE_SIZE = 100
# Refunds that hold (or will hold) the money: a failed or canceled one gave nothing back.
LIVE_REFUND_STATUSES = frozenset({"succeeded", "pending", "requires_action"})
# 4xx answers that pass: an idempotency key in use elsewhere, a rate limit.
RETRYABLE_4XX = frozenset({409, 429})


class StripeCallMeter(Protocol):
    """Told of every Stripe API call (metrics): its operation, duration and error class."""

    def stripe_call(self, operation: str, seconds: float, error: str | None) -> None: ...


class _Unmetered:
    def stripe_call(self, operation: str, seconds: float, error: str | None) -> None:
        pass


class StripeCheckoutGateway:
    """Stripe Checkout for the payment service; a Stripe failure is a `CheckoutUnavailable`.

    Session creates carry an idempotency key derived from the order (ADR 0008).
    The processor's calls (`expire_session`, `refund`) tell a refusal that retrying
    will not change (a 4xx `InvalidRequestError` other than 409/429: unknown
    session or PaymentIntent, nothing to refund…) apart as `CheckoutRejected` (a
    `ServiceRejected`), so the
    processor parks that payment instead of holding the log forever (ADR 0012).
    """

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None = None,
        frontend_url: str,
        expires_minutes: int = 30,
        clock: Clock,
        max_network_retries: int = 2,
        timeout_seconds: float = 10.0,
        meter: StripeCallMeter | None = None,
    ) -> None:
        if not MIN_EXPIRES_MINUTES <= expires_minutes <= MAX_EXPIRES_MINUTES:
            raise ValueError(
                f"expires_minutes must be {MIN_EXPIRES_MINUTES} to {MAX_EXPIRES_MINUTES}, "
                f"got {expires_minutes}"
            )
        self._http = stripe.HTTPXClient(timeout=timeout_seconds)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            http_client=self._http,
            max_network_retries=max_network_retries,
        )
        self._frontend_url = frontend_url
        self._expires_minutes = expires_minutes
        self._clock = clock
        self._meter = meter or _Unmetered()

    async def open_session(self, request: CheckoutRequest) -> CheckoutSession:
        """Creates under the order's key of this time bucket, or the next one if Stripe
        replays a failure for it (ADR 0008, 0018): a failed attempt never poisons the next,
        and a create whose answer was lost (a timeout) is found again under its own key."""
        now = self._clock.now()
        order_id = request.order.order_id
        for spent in range(KEYS_PER_BUCKET):
            # Builds (and checks the amounts of) the request before anything reaches Stripe.
            attempt = session_attempt(
                request, self._frontend_url, self._expires_minutes, now, spent
            )
            try:
                with _stripe_call("create checkout session", {"orderId": order_id}, self._meter):
                    session = await self._client.v1.checkout.sessions.create_async(
                        params=attempt.params,  # type: ignore[arg-type]
                        options={"idempotency_key": attempt.idempotency_key},
                    )
            except CheckoutUnavailable as error:
                if not _replayed_failure(error):
                    raise
                log.info(
                    "stripe replayed a failed create for this key; trying the next key",
                    extra={"orderId": order_id, "idempotencyKey": attempt.idempotency_key},
                )
                continue
            break
        else:
            raise CheckoutUnavailable(
                f"Stripe: {KEYS_PER_BUCKET} creates of order {order_id} failed in this bucket"
            )
        opened = _checkout_session(session)
        log.info(
            "stripe checkout session created",
            extra={"orderId": order_id, "sessionId": opened.session_id},
        )
        return opened

    async def retrieve_session(self, session_id: str) -> CheckoutSession:
        with _stripe_call("retrieve checkout session", {"sessionId": session_id}, self._meter):
            session = await self._client.v1.checkout.sessions.retrieve_async(session_id)
        return _checkout_session(session)

    async def expire_session(self, session_id: str) -> str:
        extra = {"sessionId": session_id}
        try:
            with _stripe_call("expire checkout session", extra, self._meter):
                await self._client.v1.checkout.sessions.expire_async(session_id)
        except CheckoutUnavailable as error:
            refusal = _permanent_refusal(error)
            if refusal is None:
                raise
            # Stripe expires only open sessions; a 400 may mean it is already complete or
            # expired, which is what the caller wanted to know. Re-read rather than parse text.
            current = await self._session_for_expiry(session_id)
            if current.status == "open":
                raise CheckoutRejected(
                    f"Stripe refused to expire open checkout session {session_id}: "
                    f"{_describe(refusal)}",
                    refusal.request_id,
                ) from error
            log.info("checkout session already closed", extra={**extra, "status": current.status})
            return "already_closed"
        return "expired"

    async def _session_for_expiry(self, session_id: str) -> CheckoutSession:
        try:
            return await self.retrieve_session(session_id)
        except CheckoutUnavailable as error:
            refusal = _permanent_refusal(error)
            if refusal is None:
                raise
            raise CheckoutRejected(
                f"Stripe cannot expire checkout session {session_id}: {_describe(refusal)}",
                refusal.request_id,
            ) from error

    async def refund(
        self,
        payment_intent: str,
        amount: Money,
        idempotency_key: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> RefundReceipt:
        """The caller's key is used as is: a refund must never happen twice (ADR 0008).

        Stripe replays a key's answer for 24 hours only, so a refund whose metadata names
        it (`refundId`) is first looked for among the PaymentIntent's refunds: asked
        again a day later (its answer lost, the payment parked), it is found, not made
        twice. A refund of everything refused with `charge_already_refunded` (a refund
        made by hand in the dashboard) is answered by the refund that exists.
        """
        extra = {"paymentIntent": payment_intent, "idempotencyKey": idempotency_key}
        if amount.minor <= 0:  # the domain never owes one; if a bug did, Stripe must not see it
            raise CheckoutRejected(
                f"refund of {payment_intent} must be positive, not {amount.minor} {amount.currency}"
            )
        params: dict[str, Any] = {"payment_intent": payment_intent, "amount": amount.minor}
        if reason:
            params["reason"] = reason
        if metadata:
            params["metadata"] = dict(metadata)
        made = await self._refund_named(payment_intent, (metadata or {}).get("refundId"), extra)
        if made is not None:
            return made
        try:
            with _stripe_call("refund", extra, self._meter):
                refund = await self._client.v1.refunds.create_async(
                    params=params,  # type: ignore[arg-type]
                    options={"idempotency_key": idempotency_key},
                )
        except CheckoutUnavailable as error:
            refusal = _permanent_refusal(error)
            if refusal is None:
                raise
            if refusal.code == "charge_already_refunded":
                return await self._existing_refund(payment_intent, amount, extra, error)
            raise CheckoutRejected(
                f"Stripe refused to refund {payment_intent}: {_describe(refusal)}",
                refusal.request_id,
            ) from error
        log.info(
            "stripe refund created", extra={**extra, "refundId": refund.id, "status": refund.status}
        )
        return RefundReceipt(str(refund.id), str(refund.status or "pending"))

    async def _refund_named(
        self, payment_intent: str, ours: str | None, extra: dict[str, str]
    ) -> RefundReceipt | None:
        """The refund of `payment_intent` whose metadata names it `ours`, if Stripe made it."""
        if not ours or not payment_intent:
            return None
        try:
            refunds = await self._refunds_of(payment_intent, extra)
        except CheckoutUnavailable as error:
            if _permanent_refusal(error) is None:
                raise
            return None  # no such PaymentIntent: the create says why
        for existing in refunds:
            if _metadata_of(existing).get("refundId") == ours:
                log.info("stripe refund already made", extra={**extra, "refundId": existing.id})
                return RefundReceipt(str(existing.id), str(existing.status or "pending"))
        return None

    async def _refunds_of(self, payment_intent: str, extra: dict[str, str]) -> list[stripe.Refund]:
        with _stripe_call("list refunds", extra, self._meter):
            page = await self._client.v1.refunds.list_async(
                params={"payment_intent": payment_intent, "limit": REFUNDS_PAGE_SIZE}
            )
        return list(page.data)

    async def _existing_refund(
        self,
        payment_intent: str,
        amount: Money,
        extra: dict[str, str],
        refused: CheckoutUnavailable,
    ) -> RefundReceipt:
        """The oldest live refund of `payment_intent`, if they give back at least `amount`."""
        live = [
            r
            for r in await self._refunds_of(payment_intent, extra)
            if r.status in LIVE_REFUND_STATUSES
        ]
        refunded = sum(r.amount for r in live)
        if not live or refunded < amount.minor:
            raise CheckoutRejected(
                f"Stripe says {payment_intent} is already refunded, but its refunds give back "
                f"{refunded} of {amount.minor} {amount.currency}: check it in the dashboard",
                refused.request_id,
            ) from refused
        oldest = min(live, key=lambda r: r.created)
        log.warning(
            "stripe refund already made; recording the existing one",
            extra={**extra, "refundId": oldest.id, "refundIds": [r.id for r in live]},
        )
        return RefundReceipt(str(oldest.id), str(oldest.status or "pending"))

    async def undelivered_events(self, since: datetime) -> list[StripeEvent]:
        """Oldest first: Stripe lists newest first, and a payment's history reads best (a
        dispute opened, then lost) when its events are applied in the order Stripe made them."""
        types = sorted(HANDLED_EVENTS)
        events: list[StripeEvent] = []
        with _stripe_call("list undelivered events", {"since": since.isoformat()}, self._meter):
            for start in range(0, len(types), TYPES_PER_LISTING):
                listed = await self._undelivered_of(types[start : start + TYPES_PER_LISTING], since)
                events.extend(reversed(listed))
        return sorted(events, key=lambda event: event.created or 0)  # stable: ties keep order

    async def _undelivered_of(self, types: list[str], since: datetime) -> list[StripeEvent]:
        params: dict[str, Any] = {
            "delivery_success": False,
            "types": types,
            "created": {"gte": int(since.timestamp())},
            "limit": EVENTS_PAGE_SIZE,
        }
        events: list[StripeEvent] = []
        page = await self._client.v1.events.list_async(params=params)  # type: ignore[arg-type]
        async for event in page.auto_paging_iter():
            decoded = _stripe_event(event)
            if decoded is not None and decoded.is_handled:
                events.append(decoded)
        return events

    async def retrieve_payment_intent(self, intent_id: str) -> PaymentIntentState:
        try:
            with _stripe_call("retrieve payment intent", {"paymentIntent": intent_id}, self._meter):
                intent = await self._client.v1.payment_intents.retrieve_async(intent_id)
        except CheckoutUnavailable as error:
            refusal = _permanent_refusal(error)
            if refusal is None:
                raise
            raise CheckoutRejected(
                f"Stripe has no PaymentIntent {intent_id}: {_describe(refusal)}",
                refusal.request_id,
            ) from error
        order_id = _metadata_of(intent).get("orderId")
        return PaymentIntentState(
            str(intent.id), str(intent.status), str(order_id) if order_id else None
        )

    async def open_sessions(self, created_after: datetime) -> list[CheckoutSession]:
        params: dict[str, Any] = {
            "status": "open",
            "created": {"gt": int(created_after.timestamp())},
            "limit": SESSIONS_PAGE_SIZE,
        }
        found: list[CheckoutSession] = []
        with _stripe_call("list open checkout sessions", {}, self._meter):
            page = await self._client.v1.checkout.sessions.list_async(params=params)  # type: ignore[arg-type]
            async for session in page.auto_paging_iter():
                found.append(_checkout_session(session))
        return found

    async def retrieve_refund(self, refund_id: str) -> RefundObject:
        extra = {"stripeRefundId": refund_id}
        with (
            _missing_is_rejected("refund", refund_id),
            _stripe_call("retrieve refund", extra, self._meter),
        ):
            refund = await self._client.v1.refunds.retrieve_async(refund_id)
        return _typed(refund, RefundObject, "refund")

    async def retrieve_dispute(self, dispute_id: str) -> DisputeObject:
        extra = {"disputeId": dispute_id}
        with (
            _missing_is_rejected("dispute", dispute_id),
            _stripe_call("retrieve dispute", extra, self._meter),
        ):
            dispute = await self._client.v1.disputes.retrieve_async(dispute_id)
        return _typed(dispute, DisputeObject, "dispute")

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]


@contextmanager
def _stripe_call(operation: str, extra: dict[str, str], meter: StripeCallMeter) -> Iterator[None]:
    """Turns any Stripe failure into `CheckoutUnavailable`; its details stay in the log.

    The meter is told of every call, as `create_checkout_session`, `refund`…
    """
    label = operation.replace(" ", "_")
    started = time.monotonic()
    try:
        yield
    except stripe.StripeError as error:
        meter.stripe_call(label, time.monotonic() - started, type(error).__name__)
        log.warning(
            "stripe call failed: %s",
            operation,
            extra={
                **extra,
                "stripeRequestId": error.request_id,
                "stripeError": type(error).__name__,
                "stripeCode": error.code,
                "httpStatus": error.http_status,
            },
        )
        raise CheckoutUnavailable(f"Stripe: {operation} failed", error.request_id) from error
    meter.stripe_call(label, time.monotonic() - started, None)


@contextmanager
def _missing_is_rejected(kind: str, object_id: str) -> Iterator[None]:
    """A 4xx retrying cannot change (no such object) is `CheckoutRejected`."""
    try:
        yield
    except CheckoutUnavailable as error:
        refusal = _permanent_refusal(error)
        if refusal is None:
            raise
        raise CheckoutRejected(
            f"Stripe has no {kind} {object_id}: {_describe(refusal)}", refusal.request_id
        ) from error


def _replayed_failure(error: CheckoutUnavailable) -> bool:
    """Stripe answered a 5xx it saved for this idempotency key earlier: the key is spent."""
    cause = error.__cause__
    if not isinstance(cause, stripe.StripeError) or (cause.http_status or 0) < 500:
        return False
    headers = {str(k).lower(): str(v) for k, v in (cause.headers or {}).items()}
    return headers.get("idempotent-replayed") == "true"


def _permanent_refusal(error: CheckoutUnavailable) -> stripe.InvalidRequestError | None:
    """The Stripe refusal behind `error` if retrying cannot change it (a 4xx but 409/429)."""
    cause = error.__cause__
    if not isinstance(cause, stripe.InvalidRequestError):
        return None
    status = cause.http_status
    if status is None or not 400 <= status < 500 or status in RETRYABLE_4XX:
        return None
    return cause


def _describe(refusal: stripe.InvalidRequestError) -> str:
    return f"HTTP {refusal.http_status} {refusal.code or 'refused'} (request {refusal.request_id})"


def _checkout_session(session: stripe.checkout.Session) -> CheckoutSession:
    """Stripe's answer (its JSON, as a webhook would carry it) as the port's `CheckoutSession`."""
    try:
        wire = msgspec.convert(session.to_dict(), CheckoutSessionObject)
        if wire.expires_at is None:
            raise msgspec.ValidationError("Object missing required field `expires_at`")
    except msgspec.ValidationError as error:
        log.warning("stripe sent an unreadable checkout session: %s", error)
        raise CheckoutUnavailable("Stripe: unreadable checkout session") from error
    details_email = wire.customer_details.email if wire.customer_details else None
    order_id, attempt = _ours(session.to_dict())
    return CheckoutSession(
        session_id=wire.id,
        url=wire.url or "",
        expires_at=datetime.fromtimestamp(wire.expires_at, UTC),
        status=wire.status or "open",
        payment_status=wire.payment_status or "unpaid",
        payment_intent=wire.payment_intent,  # an id: the gateway never expands it
        amount_total=wire.amount_total,
        currency=wire.currency,
        customer_email=wire.customer_email or details_email,
        order_id=order_id,
        attempt=attempt,
        created=datetime.fromtimestamp(wire.created, UTC) if wire.created else None,
    )


def _typed(stripe_object: stripe.StripeObject, as_type: type[T], kind: str) -> T:
    """Stripe's answer (its JSON, as a webhook would carry it) as the application reads it."""
    try:
        return msgspec.convert(stripe_object.to_dict(), as_type)
    except msgspec.ValidationError as error:
        log.warning("stripe sent an unreadable %s: %s", kind, error)
        raise CheckoutUnavailable(f"Stripe: unreadable {kind}") from error


def _metadata_of(stripe_object: stripe.StripeObject) -> dict[str, str]:
    metadata = stripe_object.to_dict().get("metadata")
    if not isinstance(metadata, dict):
        return {}
    return {str(key): str(value) for key, value in metadata.items()}


def _ours(session: dict[str, Any]) -> tuple[str | None, str]:
    """The order a session is for and the create attempt that opened it (our metadata)."""
    metadata = session.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    order_id = metadata.get("orderId") or session.get("client_reference_id")
    attempt = metadata.get(ATTEMPT_METADATA)
    return (str(order_id) if order_id else None), (str(attempt) if attempt else "")


def _stripe_event(event: stripe.Event) -> StripeEvent | None:
    """Back to Stripe's JSON, then through the same decoder the webhook uses."""
    try:
        return decode_stripe_event(json.dumps(event.to_dict(for_json=True)).encode())
    except MalformedStripeEvent as error:
        log.warning("skipping an unreadable stripe event: %s", error, extra={"eventId": event.id})
        return None
