"""`/v1/events`: list (newest first, filtered) and retrieve."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from litestar import Response, get

from sandbox.stripe_api import listing
from sandbox.stripe_api import params as p
from sandbox.stripe_api.api_requests import AnyRequest, ok, query_params
from sandbox.stripe_api.errors import invalid_request, resource_missing
from sandbox.stripe_api.state import Sandbox

_FILTERS = {
    "type",
    "types",
    "created",
    "delivery_success",
    "limit",
    "starting_after",
    "ending_before",
    "expand",
}


@get("/v1/events")
async def list_events(request: AnyRequest, sandbox: Sandbox) -> Response[bytes]:
    params = query_params(request)
    p.reject_unknown(params, _FILTERS)
    wanted = _delivery_success(params.get("delivery_success"))
    types = _types(params)
    matching = [
        event
        for event in sandbox.store.list_events()
        if (not types or any(fnmatchcase(event["type"], t) for t in types))
        and listing.created_matches(event["created"], params.get("created"))
        and (wanted is None or sandbox.events.delivery_succeeded(event["id"]) == wanted)
    ]
    return ok(request, listing.page(matching, params, "/v1/events"))


@get("/v1/events/{event_id:str}")
async def retrieve_event(request: AnyRequest, sandbox: Sandbox, event_id: str) -> Response[bytes]:
    event = sandbox.store.get_event(event_id)
    if event is None:
        raise resource_missing("event", event_id)
    return ok(request, event)


def _types(params: dict[str, Any]) -> list[str]:
    """`type` (a `*` wildcard allowed, as at Stripe) or the `types[]` list."""
    if params.get("type") not in (None, ""):
        return [p.string(params["type"], "type")]
    listed = params.get("types", [])
    return [p.string(t, "types") for t in (listed if isinstance(listed, list) else [listed])]


def _delivery_success(value: Any) -> bool | None:
    if value in (None, ""):
        return None
    if value not in ("true", "false"):
        raise invalid_request("Invalid boolean: " + str(value), param="delivery_success")
    return bool(value == "true")


ROUTES = [list_events, retrieve_event]
