"""`/v1/charges` and `/v1/disputes`: retrieve and list; `POST /v1/disputes/{id}/close`."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post

from sandbox.stripe_api import listing
from sandbox.stripe_api import params as p
from sandbox.stripe_api.api_requests import (
    AnyRequest,
    form_params,
    idempotent_post,
    ok,
    origin,
    query_params,
)
from sandbox.stripe_api.charges import CHARGE, DISPUTE
from sandbox.stripe_api.disputes import close_dispute
from sandbox.stripe_api.errors import resource_missing
from sandbox.stripe_api.objects import public
from sandbox.stripe_api.state import Sandbox

_LIST_PARAMS = {
    "payment_intent",
    "charge",
    "created",
    "limit",
    "starting_after",
    "ending_before",
    "expand",
    "customer",
}


@get("/v1/charges/{charge_id:str}")
async def retrieve_charge(request: AnyRequest, sandbox: Sandbox, charge_id: str) -> Response[bytes]:
    return ok(request, public(_load(sandbox, CHARGE, charge_id)))


@get("/v1/charges")
async def list_charges(request: AnyRequest, sandbox: Sandbox) -> Response[bytes]:
    return ok(request, _listed(sandbox, query_params(request), CHARGE, "/v1/charges"))


@get("/v1/disputes/{dispute_id:str}")
async def retrieve_dispute(
    request: AnyRequest, sandbox: Sandbox, dispute_id: str
) -> Response[bytes]:
    return ok(request, public(_load(sandbox, DISPUTE, dispute_id)))


@get("/v1/disputes")
async def list_disputes(request: AnyRequest, sandbox: Sandbox) -> Response[bytes]:
    return ok(request, _listed(sandbox, query_params(request), DISPUTE, "/v1/disputes"))


@post("/v1/disputes/{dispute_id:str}/close", status_code=200)
async def close(request: AnyRequest, sandbox: Sandbox, dispute_id: str) -> Response[bytes]:
    """Accepting the dispute: it is lost, irreversibly."""
    params = await form_params(request)
    p.reject_unknown(params, {"expand"})

    async def accept() -> dict[str, Any]:
        dispute = _load(sandbox, DISPUTE, dispute_id)
        return public(close_dispute(sandbox, dispute, won=False, origin=origin(request)))

    return await idempotent_post(sandbox, request, params, accept)


def _load(sandbox: Sandbox, kind: str, object_id: str) -> dict[str, Any]:
    found = sandbox.store.get_object(kind, object_id)
    if found is None:
        raise resource_missing(kind, object_id)
    return found


def _listed(sandbox: Sandbox, params: dict[str, Any], kind: str, url: str) -> dict[str, Any]:
    """Stripe's list, newest first, optionally of one PaymentIntent's (or charge's)."""
    p.reject_unknown(params, _LIST_PARAMS if kind == DISPUTE else _LIST_PARAMS - {"charge"})
    intent, charge = params.get("payment_intent"), params.get("charge")
    matching = [
        obj
        for obj in sandbox.store.list_objects(kind)
        if (intent in (None, "") or obj["payment_intent"] == intent)
        and (charge in (None, "") or obj["charge"] == charge)
        and listing.created_matches(obj["created"], params.get("created"))
    ]
    result = listing.page(matching, params, url)
    result["data"] = [public(obj) for obj in result["data"]]
    return result


ROUTES = [retrieve_charge, list_charges, retrieve_dispute, list_disputes, close]
