"""`/v1/refunds` and `/v1/payment_intents/{id}`."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post

from sandbox.stripe_api.api_requests import AnyRequest, form_params, idempotent_post, ok, origin
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


@get("/v1/payment_intents/{intent_id:str}")
async def retrieve_intent(request: AnyRequest, sandbox: Sandbox, intent_id: str) -> Response[bytes]:
    return ok(request, public(load_intent(sandbox, intent_id)))


ROUTES = [post_refund, retrieve_refund, retrieve_intent]
