"""Checkout Session lifecycle: create, load, render, expire (on request or when due)."""

from __future__ import annotations

from typing import Any

from sandbox.stripe_api import objects
from sandbox.stripe_api.errors import invalid_request, resource_missing
from sandbox.stripe_api.events import RequestOrigin
from sandbox.stripe_api.session_params import session_spec
from sandbox.stripe_api.state import Sandbox

SESSION = "checkout.session"
PAYMENT_INTENT = "payment_intent"


def create_session(sandbox: Sandbox, params: dict[str, Any], page_base: str) -> dict[str, Any]:
    spec = session_spec(params, sandbox.clock.timestamp())
    session = objects.checkout_session(spec, sandbox.clock.timestamp(), page_base)
    # Remembered so that advancing the clock later ages this session (see SandboxClock).
    session["_clock_offset"] = sandbox.clock.offset_seconds
    sandbox.store.put_object(SESSION, session)
    return session


def load_session(sandbox: Sandbox, session_id: str) -> dict[str, Any]:
    session = sandbox.store.get_object(SESSION, session_id)
    if session is None:
        raise resource_missing("checkout.session", session_id, param="session")
    return session


def load_intent(sandbox: Sandbox, intent_id: str, param: str = "intent") -> dict[str, Any]:
    intent = sandbox.store.get_object(PAYMENT_INTENT, intent_id)
    if intent is None:
        raise resource_missing("payment_intent", intent_id, param=param)
    return intent


def render_session(sandbox: Sandbox, session: dict[str, Any], expand: set[str]) -> dict[str, Any]:
    """The public object, with `payment_intent` and `line_items` expanded on request."""
    body = objects.public(session)
    if "payment_intent" in expand and session["payment_intent"] is not None:
        body["payment_intent"] = objects.public(load_intent(sandbox, session["payment_intent"]))
    if "line_items" in expand:
        url = f"/v1/checkout/sessions/{session['id']}/line_items"
        body["line_items"] = objects.list_envelope(session["_line_items"], False, url)
    return body


def expire_session(
    sandbox: Sandbox, session: dict[str, Any], origin: RequestOrigin | None = None
) -> dict[str, Any]:
    if session["status"] != "open":
        raise invalid_request(
            'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
            f'Session has a status of "{session["status"]}".',
            param="session",
        )
    session.update(status="expired", url=None)
    sandbox.store.put_object(SESSION, session)
    _cancel_intent(sandbox, session, origin)
    sandbox.events.emit("checkout.session.expired", session, origin)
    return session


def _cancel_intent(sandbox: Sandbox, session: dict[str, Any], origin: RequestOrigin | None) -> None:
    """An expired session's unfinished PaymentIntent is canceled, as at Stripe."""
    if session["payment_intent"] is None:
        return
    intent = load_intent(sandbox, session["payment_intent"])
    if intent["status"] in ("succeeded", "canceled"):
        return
    intent.update(
        status="canceled",
        canceled_at=sandbox.clock.timestamp(),
        cancellation_reason="abandoned",
        next_action=None,
    )
    sandbox.store.put_object(PAYMENT_INTENT, intent)
    sandbox.events.emit("payment_intent.canceled", intent, origin)


def expire_due_sessions(sandbox: Sandbox) -> int:
    """Expire every open session whose `expires_at` has passed on the sandbox clock."""
    due = [
        session
        for session in sandbox.store.list_objects(SESSION, status="open")
        if sandbox.clock.is_past(session["expires_at"], session.get("_clock_offset", 0.0))
    ]
    for session in due:
        expire_session(sandbox, session)
    return len(due)
