"""`GET /metrics`: HTTP requests by route template, webhook deliveries by type and outcome."""

from __future__ import annotations

from application.ledger import PaymentLedger
from tests.interfaces.conftest import Api, api_on, as_user
from tests.metrics_text import sample, samples
from tests.stripe_payloads import checkout_event, encode

COMPLETED = "checkout.session.completed"
STATUS_ROUTE = "/payments/status/{orderId}"


async def scrape(api: Api) -> str:
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text


async def test_requests_are_counted_by_route_template_and_status(api: Api) -> None:
    await api.open_checkout("ord_1")
    for _ in range(3):
        await api.client.get("/payments/status/ord_1", headers=as_user("user_1"))
    await api.client.get("/payments/status/ord_1")  # no JWT: refused by the auth middleware

    text = await scrape(api)

    ok = {"method": "GET", "path": STATUS_ROUTE, "status_code": "200"}
    assert sample(text, "payments_http_requests_total", **ok) == 3
    assert sample(text, "payments_http_request_duration_seconds_count", **ok) == 3
    refused = {**ok, "status_code": "401"}
    assert sample(text, "payments_http_requests_total", **refused) == 1
    created = {"method": "POST", "path": "/payments/create-session", "status_code": "200"}
    assert sample(text, "payments_http_requests_total", **created) == 1
    paths = {labels["path"] for labels in samples(text, "payments_http_requests_total")}
    assert not any("ord_1" in path for path in paths), paths  # one series per route, not per order
    assert "/metrics" not in paths


async def test_webhook_deliveries_by_type_and_outcome(api: Api) -> None:
    session_id = await api.open_checkout("ord_1")
    paid = checkout_event(COMPLETED, "ord_1", session_id, evt_id="evt_paid")
    await api.webhook(paid)
    await api.webhook(paid)  # Stripe delivers it again
    await api.webhook(checkout_event(COMPLETED, "ord_unknown", "cs_not_ours"))
    await api.webhook({**paid, "id": "evt_other", "type": "customer.created"})
    await api.client.post("/webhook", content=encode(paid), headers={"Stripe-Signature": "t=1"})
    await api.webhook(checkout_event("checkout.session.expired", "ord_1", session_id))

    text = await scrape(api)

    def delivered(event_type: str, outcome: str) -> float | None:
        return sample(text, "payments_webhook_events_total", type=event_type, outcome=outcome)

    assert delivered(COMPLETED, "recorded") == 1
    assert delivered(COMPLETED, "duplicate") == 1
    assert delivered(COMPLETED, "ignored") == 1  # a session that is not ours
    assert delivered("customer.created", "ignored") == 1  # a type we do not handle
    assert delivered("unverified", "rejected") == 1
    assert delivered("checkout.session.expired", "no_change") == 1  # paid is terminal


async def test_each_app_counts_in_its_own_registry(ledger: PaymentLedger, api: Api) -> None:
    await api.client.get("/health")
    async with api_on(ledger) as other:
        await other.client.get("/health")
        await other.client.get("/health")
        mine, theirs = await scrape(api), await scrape(other)
    health = {"method": "GET", "path": "/health", "status_code": "200"}
    assert sample(mine, "payments_http_requests_total", **health) == 1
    assert sample(theirs, "payments_http_requests_total", **health) == 2
