"""The hosted checkout at each session's `url`: pay, decline, authenticate, redirect."""

from __future__ import annotations

from litestar import MediaType, Response, get, post
from litestar.response import Redirect

from sandbox.stripe_api import hosted_pages
from sandbox.stripe_api.api_requests import AnyRequest, form_params
from sandbox.stripe_api.card_payments import PaymentOutcome, authenticate, pay_with_card
from sandbox.stripe_api.checkout_sessions import SESSION
from sandbox.stripe_api.state import Sandbox

_INACTIVE = "This Checkout Session is no longer active."


@get("/c/pay/{session_id:str}")
async def show_checkout(sandbox: Sandbox, session_id: str) -> Response[str]:
    session = sandbox.store.get_object(SESSION, session_id)
    if session is None:
        return _html(hosted_pages.inactive_page("No such Checkout Session."), 404)
    if session["status"] != "open":
        return _html(hosted_pages.inactive_page(_INACTIVE), 410)
    return _html(hosted_pages.checkout_page(session))


@post("/c/pay/{session_id:str}", status_code=200)
async def submit_card(
    request: AnyRequest, sandbox: Sandbox, session_id: str
) -> Response[str] | Redirect:
    session = sandbox.store.get_object(SESSION, session_id)
    if session is None:
        return _html(hosted_pages.inactive_page("No such Checkout Session."), 404)
    form = await form_params(request)
    outcome = pay_with_card(
        sandbox, session, str(form.get("card_number", "")), str(form.get("email") or "") or None
    )
    return _answer(outcome)


@get("/c/pay/{session_id:str}/authenticate")
async def show_challenge(sandbox: Sandbox, session_id: str) -> Response[str]:
    session = sandbox.store.get_object(SESSION, session_id)
    if session is None or session["status"] != "open":
        return _html(hosted_pages.inactive_page(_INACTIVE), 410)
    return _html(hosted_pages.authentication_page(session))


@post("/c/pay/{session_id:str}/authenticate", status_code=200)
async def answer_challenge(
    request: AnyRequest, sandbox: Sandbox, session_id: str
) -> Response[str] | Redirect:
    session = sandbox.store.get_object(SESSION, session_id)
    if session is None:
        return _html(hosted_pages.inactive_page("No such Checkout Session."), 404)
    form = await form_params(request)
    return _answer(authenticate(sandbox, session, approve=form.get("action") == "approve"))


def _answer(outcome: PaymentOutcome) -> Response[str] | Redirect:
    session = outcome.session
    if outcome.result == "paid":
        target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
        return Redirect(target, status_code=303)
    if outcome.result == "requires_action":
        return Redirect(f"/c/pay/{session['id']}/authenticate", status_code=303)
    if outcome.result == "inactive":
        return _html(hosted_pages.inactive_page(outcome.message or _INACTIVE), 409)
    return _html(hosted_pages.checkout_page(session, error=outcome.message), 402)


def _html(content: str, status: int = 200) -> Response[str]:
    return Response(content, status_code=status, media_type=MediaType.HTML)


ROUTES = [show_checkout, submit_card, show_challenge, answer_challenge]
