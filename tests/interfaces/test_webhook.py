"""`POST /webhook`: only genuine Stripe deliveries are recorded, each at most once."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest

from application.ledger import PaymentLedger
from domain.payment import payment_id_for
from tests.interfaces.conftest import OLD_WEBHOOK_SECRET, WEBHOOK_SECRET, Api
from tests.stripe_payloads import checkout_event, encode, payment_failed_event, sign

INVALID_SIGNATURE = {"error": "Invalid signature"}
RECEIVED = {"received": True}
COMPLETED = "checkout.session.completed"


def stored_versions(ledger: PaymentLedger, order_id: str = "ord_1") -> int:
    return len(list(ledger.history(payment_id_for(order_id))))


def naming(caplog: pytest.LogCaptureFixture, event_id: str) -> list[logging.LogRecord]:
    """The log records that name the event (what an operator greps for)."""
    return [r for r in caplog.records if getattr(r, "eventId", None) == event_id]


async def post_raw(
    api: Api, body: bytes, signature: str | bytes | None, path: str = "/webhook"
) -> tuple[int, Any]:
    headers: dict[bytes, bytes] = {b"Content-Type": b"application/json"}
    if signature is not None:
        raw = signature if isinstance(signature, bytes) else signature.encode()
        headers[b"Stripe-Signature"] = raw
    response = await api.client.post(path, content=body, headers=headers)
    return response.status_code, response.json()


@pytest.mark.parametrize("path", ["/webhook", "/payments/webhook"])
async def test_genuine_completion_is_recorded_under_both_paths(api: Api, path: str) -> None:
    session_id = await api.open_checkout()
    response = await api.webhook(checkout_event(COMPLETED, "ord_1", session_id), path=path)
    assert (response.status_code, response.json()) == (200, RECEIVED)
    assert stored_versions(api.ledger) == 2


async def test_missing_signature_is_rejected(api: Api) -> None:
    session_id = await api.open_checkout()
    body = encode(checkout_event(COMPLETED, "ord_1", session_id))
    assert await post_raw(api, body, None) == (400, INVALID_SIGNATURE)
    assert stored_versions(api.ledger) == 1


@pytest.mark.parametrize(
    "signature",
    ["", "garbage", "t=notanumber,v1=abc", "t=123", "v1=deadbeef", "t=1,v1=\xe9".encode("latin-1")],
)
async def test_malformed_signature_is_rejected(api: Api, signature: str | bytes) -> None:
    session_id = await api.open_checkout()
    body = encode(checkout_event(COMPLETED, "ord_1", session_id))
    assert await post_raw(api, body, signature) == (400, INVALID_SIGNATURE)
    assert stored_versions(api.ledger) == 1


async def test_signature_with_the_wrong_secret_is_rejected(api: Api) -> None:
    session_id = await api.open_checkout()
    body = encode(checkout_event(COMPLETED, "ord_1", session_id))
    assert await post_raw(api, body, sign(body, "whsec_attacker")) == (400, INVALID_SIGNATURE)
    assert stored_versions(api.ledger) == 1


async def test_tampered_body_is_rejected(api: Api) -> None:
    session_id = await api.open_checkout()
    body = encode(checkout_event(COMPLETED, "ord_1", session_id, amount_total=1))
    signature = sign(body, WEBHOOK_SECRET)
    tampered = body.replace(b'"amount_total": 1,', b'"amount_total": 20498,')
    assert tampered != body
    assert await post_raw(api, tampered, signature) == (400, INVALID_SIGNATURE)
    assert stored_versions(api.ledger) == 1


async def test_signature_301_seconds_old_is_rejected(api: Api) -> None:
    session_id = await api.open_checkout()
    body = encode(checkout_event(COMPLETED, "ord_1", session_id))
    old = sign(body, WEBHOOK_SECRET, timestamp=int(time.time()) - 301)
    assert await post_raw(api, body, old) == (400, INVALID_SIGNATURE)
    assert stored_versions(api.ledger) == 1


async def test_signature_within_tolerance_is_accepted(api: Api) -> None:
    session_id = await api.open_checkout()
    body = encode(checkout_event(COMPLETED, "ord_1", session_id))
    recent = sign(body, WEBHOOK_SECRET, timestamp=int(time.time()) - 240)
    assert await post_raw(api, body, recent) == (200, RECEIVED)


@pytest.mark.parametrize("secret", [WEBHOOK_SECRET, OLD_WEBHOOK_SECRET])
async def test_either_secret_is_accepted_during_rotation(api: Api, secret: str) -> None:
    session_id = await api.open_checkout()
    response = await api.webhook(checkout_event(COMPLETED, "ord_1", session_id), secret=secret)
    assert (response.status_code, response.json()) == (200, RECEIVED)
    assert stored_versions(api.ledger) == 2


async def test_header_with_several_v1_signatures_is_accepted_if_one_matches(api: Api) -> None:
    session_id = await api.open_checkout()
    body = encode(checkout_event(COMPLETED, "ord_1", session_id))
    genuine = sign(body, WEBHOOK_SECRET)
    header = f"{genuine},v1={'0' * 64}"
    assert await post_raw(api, body, header) == (200, RECEIVED)


async def test_body_over_256_kib_is_413(api: Api) -> None:
    body = json.dumps({"id": "evt_big", "padding": "x" * (256 * 1024)}).encode()
    status, answer = await post_raw(api, body, sign(body, WEBHOOK_SECRET))
    assert (status, answer) == (413, {"error": "Payload too large"})


async def test_body_of_exactly_256_kib_is_not_refused_for_size(api: Api) -> None:
    body = b" " * (256 * 1024)
    status, answer = await post_raw(api, body, sign(body, WEBHOOK_SECRET))
    assert (status, answer) == (400, {"error": "Invalid payload"})


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"id": "evt_1"}', b'{"id": "evt_1", "type": "x", "data": 5}'],
)
async def test_signed_but_undecodable_payload_is_400(api: Api, body: bytes) -> None:
    assert await post_raw(api, body, sign(body, WEBHOOK_SECRET)) == (
        400,
        {"error": "Invalid payload"},
    )


async def test_handled_type_missing_its_object_fields_is_400(api: Api) -> None:
    payload = checkout_event(COMPLETED, "ord_1", "cs_test_1")
    del payload["data"]["object"]["id"]
    body = encode(payload)
    assert await post_raw(api, body, sign(body, WEBHOOK_SECRET)) == (
        400,
        {"error": "Invalid payload"},
    )


async def test_unknown_event_type_is_acknowledged_and_not_recorded(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    await api.open_checkout()
    payload = checkout_event("customer.created", "ord_1", "cs_test_1")
    with caplog.at_level(logging.INFO):
        response = await api.webhook(payload)
    assert (response.status_code, response.json()) == (200, RECEIVED)
    assert stored_versions(api.ledger) == 1
    assert len(naming(caplog, payload["id"])) == 1


async def test_session_that_is_not_ours_is_acknowledged_and_not_recorded(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    await api.open_checkout()
    # Another session of the order expiring: nothing to record (its money would be, ADR 0018).
    not_its_session = checkout_event("checkout.session.expired", "ord_1", "cs_someone_else")
    not_our_order = checkout_event(COMPLETED, "ord_unknown", "cs_x")
    with caplog.at_level(logging.INFO):
        response = await api.webhook(not_its_session)
        other_order = await api.webhook(not_our_order)
    assert (response.status_code, response.json()) == (200, RECEIVED)
    assert (other_order.status_code, other_order.json()) == (200, RECEIVED)
    assert stored_versions(api.ledger) == 1
    assert stored_versions(api.ledger, "ord_unknown") == 0
    assert naming(caplog, not_its_session["id"])
    assert naming(caplog, not_our_order["id"])


async def test_replayed_event_has_no_second_effect(api: Api) -> None:
    session_id = await api.open_checkout()
    payload = checkout_event(COMPLETED, "ord_1", session_id)
    first = await api.webhook(payload)
    versions = stored_versions(api.ledger)
    second = await api.webhook(payload)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == RECEIVED
    assert stored_versions(api.ledger) == versions


async def test_late_expiry_after_success_does_not_overwrite_it(api: Api) -> None:
    session_id = await api.open_checkout()
    await api.webhook(checkout_event(COMPLETED, "ord_1", session_id))
    versions = stored_versions(api.ledger)
    late = await api.webhook(checkout_event("checkout.session.expired", "ord_1", session_id))
    assert late.status_code == 200
    payment = api.ledger.find("ord_1")
    assert payment is not None and payment.status.value == "SUCCESS"
    assert stored_versions(api.ledger) == versions  # nothing new stored


async def test_payment_intent_failure_is_recorded(api: Api) -> None:
    await api.open_checkout()
    response = await api.webhook(payment_failed_event("ord_1"))
    assert response.status_code == 200
    payment = api.ledger.find("ord_1")
    assert payment is not None and payment.status.value == "FAILED"


async def test_store_failure_is_500_so_stripe_retries(api: Api) -> None:
    session_id = await api.open_checkout()
    api.ledger.close()
    response = await api.webhook(checkout_event(COMPLETED, "ord_1", session_id))
    assert (response.status_code, response.json()) == (500, {"error": "Internal server error"})
