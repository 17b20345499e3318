"""`/_sandbox/…`: controls for tests and developers, outside Stripe's namespace.

Clock travel, delivery on/off and endpoints, delivery attempts, redelivery,
fault injection, and paying a session without a browser.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import msgspec
from litestar import delete, get, post

from sandbox.stripe_api import checkout_sessions as sessions
from sandbox.stripe_api.card_payments import (
    PaymentOutcome,
    authenticate,
    pay_with_card,
    settle_delayed_payment,
    start_delayed_payment,
)
from sandbox.stripe_api.errors import invalid_request, resource_missing
from sandbox.stripe_api.faults import OPERATIONS, Fault
from sandbox.stripe_api.refund_outcomes import settle_due_refunds
from sandbox.stripe_api.state import Sandbox


class ClockAdvance(msgspec.Struct):
    seconds: float


class DeliverySwitch(msgspec.Struct):
    enabled: bool


class Endpoints(msgspec.Struct):
    urls: list[str]


class FaultRequest(msgspec.Struct):
    operation: str = "checkout.sessions.create"
    status: int | None = 500
    delay_seconds: float = 0.0
    times: int = 1


class CardPayment(msgspec.Struct):
    card_number: str = "4242424242424242"
    email: str | None = None


class Approval(msgspec.Struct):
    approve: bool = True


class DelayedPayment(msgspec.Struct):
    email: str | None = None


class Settlement(msgspec.Struct):
    succeeded: bool


@get("/_sandbox/health")
async def health() -> dict[str, Any]:
    return {"ok": True}


@get("/_sandbox/config")
async def show_config(sandbox: Sandbox) -> dict[str, Any]:
    return {
        "webhook_secret": sandbox.webhook_secret,
        "forward_to": sandbox.events.endpoints,
        "delivery_enabled": sandbox.delivery_enabled,
        "clock_offset_seconds": sandbox.clock.offset_seconds,
    }


@post("/_sandbox/clock/advance", status_code=200)
async def advance_clock(sandbox: Sandbox, data: ClockAdvance) -> dict[str, Any]:
    """Age every existing session and refund, then expire the sessions and settle the
    refunds now due before answering."""
    if data.seconds < 0:
        raise invalid_request("The sandbox clock only moves forward.", param="seconds")
    sandbox.advance_clock(data.seconds)
    expired = sessions.expire_due_sessions(sandbox)
    settled = settle_due_refunds(sandbox)
    return {
        "clock_offset_seconds": sandbox.clock.offset_seconds,
        "expired_sessions": expired,
        "settled_refunds": settled,
    }


@post("/_sandbox/delivery", status_code=200)
async def switch_delivery(sandbox: Sandbox, data: DeliverySwitch) -> dict[str, Any]:
    sandbox.delivery_enabled = data.enabled
    sandbox.events.wake.set()
    return {"delivery_enabled": sandbox.delivery_enabled}


@post("/_sandbox/forward-to", status_code=200)
async def replace_endpoints(sandbox: Sandbox, data: Endpoints) -> dict[str, Any]:
    """Endpoints for events from now on (like restarting `stripe listen`)."""
    sandbox.events.endpoints[:] = data.urls
    return {"forward_to": sandbox.events.endpoints}


@get("/_sandbox/deliveries")
async def list_attempts(sandbox: Sandbox, event_id: str | None = None) -> dict[str, Any]:
    deliveries = [asdict(d) for d in sandbox.store.deliveries(event_id)]
    return {"deliveries": deliveries, "attempts": sandbox.store.attempts(event_id)}


@post("/_sandbox/events/{event_id:str}/redeliver", status_code=200)
async def redeliver(sandbox: Sandbox, event_id: str) -> dict[str, Any]:
    if sandbox.store.get_event(event_id) is None:
        raise resource_missing("event", event_id)
    sandbox.events.redeliver(event_id)
    return {"redelivering": event_id, "to": sandbox.events.endpoints}


@post("/_sandbox/faults", status_code=200)
async def arm_fault(sandbox: Sandbox, data: FaultRequest) -> dict[str, Any]:
    if data.operation not in OPERATIONS:
        raise invalid_request(f"Unknown operation; one of {sorted(OPERATIONS)}", param="operation")
    sandbox.faults.arm(Fault(data.operation, data.status, data.delay_seconds, data.times))
    return {"armed": [asdict(f) for f in sandbox.faults.armed()]}


@delete("/_sandbox/faults", status_code=200)
async def clear_faults(sandbox: Sandbox) -> dict[str, Any]:
    sandbox.faults.clear()
    return {"armed": []}


@post("/_sandbox/checkout/sessions/{session_id:str}/pay", status_code=200)
async def pay(sandbox: Sandbox, session_id: str, data: CardPayment) -> dict[str, Any]:
    """What the hosted page does when the customer submits a card."""
    session = sessions.load_session(sandbox, session_id)
    return _outcome(sandbox, pay_with_card(sandbox, session, data.card_number, data.email))


@post("/_sandbox/checkout/sessions/{session_id:str}/authenticate", status_code=200)
async def answer_challenge(sandbox: Sandbox, session_id: str, data: Approval) -> dict[str, Any]:
    session = sessions.load_session(sandbox, session_id)
    return _outcome(sandbox, authenticate(sandbox, session, data.approve))


@post("/_sandbox/checkout/sessions/{session_id:str}/delayed-payment", status_code=200)
async def delayed_payment(
    sandbox: Sandbox, session_id: str, data: DelayedPayment
) -> dict[str, Any]:
    """Complete the session `unpaid`, as a bank debit does; settle it later."""
    session = sessions.load_session(sandbox, session_id)
    return _outcome(sandbox, start_delayed_payment(sandbox, session, data.email))


@post("/_sandbox/checkout/sessions/{session_id:str}/delayed-payment/settle", status_code=200)
async def settle(sandbox: Sandbox, session_id: str, data: Settlement) -> dict[str, Any]:
    session = sessions.load_session(sandbox, session_id)
    return _outcome(sandbox, settle_delayed_payment(sandbox, session, data.succeeded))


def _outcome(sandbox: Sandbox, outcome: PaymentOutcome) -> dict[str, Any]:
    return {
        "result": outcome.result,
        "message": outcome.message,
        "session": sessions.render_session(sandbox, outcome.session, {"payment_intent"}),
    }


ROUTES = [
    health,
    show_config,
    advance_clock,
    switch_delivery,
    replace_endpoints,
    list_attempts,
    redeliver,
    arm_fault,
    clear_faults,
    pay,
    answer_challenge,
    delayed_payment,
    settle,
]
