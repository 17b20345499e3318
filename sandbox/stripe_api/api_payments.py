"""`/v1/refunds` (create, retrieve, list) and `/v1/payment_intents/{id}`."""

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
from sandbox.stripe_api.checkout_sessions import load_intent
from sandbox.stripe_api.errors import resource_missing
from sandbox.stripe_api.objects import public
from sandbox.stripe_api.refunds import REFUND, create_refund
from sandbox.stripe_api.state import Sandbox


@post("/v1/refunds", status_code=200)
async def post_refund(request: AnyRequest, sandbox: Sandbox) -> Response[bytes]:
    params = await form_params(request)

    async def refund() -> dict[str, Any]:
        await sandbox.faults.apply("refunds.create")
        return public(create_refund(sandbox, params, origin(request)))

    return await idempotent_post(sandbox, request, params, refund)


@get("/v1/refunds/{refund_id:str}")
async def retrieve_refund(request: AnyRequest, sandbox: Sandbox, refund_id: str) -> Response[bytes]:
    refund = sandbox.store.get_object(REFUND, refund_id)
    if refund is None:
        raise resource_missing("refund", refund_id)
    return ok(request, public(refund))


@get("/v1/refunds")
async def list_refunds(request: AnyRequest, sandbox: Sandbox) -> Response[bytes]:
    """Stripe's list, newest first, optionally of one PaymentIntent's or charge's refunds."""
    params = query_params(request)
    p.reject_unknown(
        params,
        {
            "payment_intent",
            "charge",
            "created",
            "limit",
            "starting_after",
            "ending_before",
            "expand",
        },
    )
    intent, charge = params.get("payment_intent"), params.get("charge")
    matching = [
        refund
        for refund in sandbox.store.list_objects(REFUND)
        if (intent in (None, "") or refund["payment_intent"] == intent)
        and (charge in (None, "") or refund["charge"] == charge)
        and listing.created_matches(refund["created"], params.get("created"))
    ]
    result = listing.page(matching, params, "/v1/refunds")
    result["data"] = [public(refund) for refund in result["data"]]
    return ok(request, result)


@get("/v1/payment_intents/{intent_id:str}")
async def retrieve_intent(request: AnyRequest, sandbox: Sandbox, intent_id: str) -> Response[bytes]:
    return ok(request, public(load_intent(sandbox, intent_id)))


ROUTES = [post_refund, list_refunds, retrieve_refund, retrieve_intent]
