"""`/v1/checkout/sessions`: create, retrieve, list, expire, line items."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post

from sandbox.stripe_api import checkout_sessions as sessions
from sandbox.stripe_api import listing
from sandbox.stripe_api import params as p
from sandbox.stripe_api.api_requests import (
    AnyRequest,
    form_params,
    idempotent_post,
    ok,
    origin,
    page_base,
    query_params,
)
from sandbox.stripe_api.state import Sandbox

_URL = "/v1/checkout/sessions"


@post(_URL, status_code=200)
async def create_session(request: AnyRequest, sandbox: Sandbox) -> Response[bytes]:
    params = await form_params(request)

    async def create() -> dict[str, Any]:
        await sandbox.faults.apply("checkout.sessions.create")
        session = sessions.create_session(sandbox, params, page_base(sandbox, request))
        return sessions.render_session(sandbox, session, p.expand(params))

    return await idempotent_post(sandbox, request, params, create)


@get(f"{_URL}/{{session_id:str}}")
async def retrieve_session(
    request: AnyRequest, sandbox: Sandbox, session_id: str
) -> Response[bytes]:
    params = query_params(request)
    await sandbox.faults.apply("checkout.sessions.retrieve")
    session = sessions.load_session(sandbox, session_id)
    return ok(request, sessions.render_session(sandbox, session, p.expand(params)))


@get(_URL)
async def list_sessions(request: AnyRequest, sandbox: Sandbox) -> Response[bytes]:
    params = query_params(request)
    p.reject_unknown(
        params,
        {
            "status",
            "payment_intent",
            "created",
            "limit",
            "starting_after",
            "ending_before",
            "expand",
            "customer",
            "customer_details",
            "payment_link",
            "subscription",
        },
    )
    status, intent = params.get("status"), params.get("payment_intent")
    matching = [
        session
        for session in sandbox.store.list_objects(sessions.SESSION, status=status or None)
        if (intent in (None, "") or session["payment_intent"] == intent)
        and listing.created_matches(session["created"], params.get("created"))
    ]
    result = listing.page(matching, params, _URL)
    expand = {name.removeprefix("data.") for name in p.expand(params)}
    result["data"] = [sessions.render_session(sandbox, s, expand) for s in result["data"]]
    return ok(request, result)


@post(f"{_URL}/{{session_id:str}}/expire", status_code=200)
async def expire_session(request: AnyRequest, sandbox: Sandbox, session_id: str) -> Response[bytes]:
    params = await form_params(request)
    p.reject_unknown(params, {"expand"})

    async def expire() -> dict[str, Any]:
        await sandbox.faults.apply("checkout.sessions.expire")
        session = sessions.load_session(sandbox, session_id)
        sessions.expire_session(sandbox, session, origin(request))
        return sessions.render_session(sandbox, session, p.expand(params))

    return await idempotent_post(sandbox, request, params, expire)


@get(f"{_URL}/{{session_id:str}}/line_items")
async def list_line_items(
    request: AnyRequest, sandbox: Sandbox, session_id: str
) -> Response[bytes]:
    session = sessions.load_session(sandbox, session_id)
    url = f"{_URL}/{session_id}/line_items"
    return ok(request, listing.page(session["_line_items"], query_params(request), url))


ROUTES = [create_session, retrieve_session, list_sessions, expire_session, list_line_items]
