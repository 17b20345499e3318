"""StripeCheckoutGateway against the running Stripe sandbox, over HTTP, through the real SDK."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from application.errors import CheckoutUnavailable, ServiceRejected
from application.ports import CheckoutRequest
from domain.errors import InvalidOrder
from domain.money import Money
from domain.order import OrderLine, OrderSnapshot
from infrastructure.stripe.checkout_gateway import StripeCheckoutGateway
from tests.fakes import FixedClock, an_order
from tests.fixtures.stripe_sandbox import RunningStripeSandbox, StripeSandboxOptions

FRONTEND = "http://shop.test"
_orders = iter(range(1, 10_000))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStripeSandbox]:
    """One sandbox for the module (each test uses its own orders); delivery off, no endpoint."""
    log = tmp_path_factory.mktemp("gateway") / "sandbox.log"
    running = RunningStripeSandbox(StripeSandboxOptions(deliver=False), Path(log)).start()
    yield running
    running.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC))


@pytest.fixture
async def gateway(
    sandbox: RunningStripeSandbox, clock: FixedClock
) -> AsyncIterator[StripeCheckoutGateway]:
    sandbox.clear_faults()
    gateway = StripeCheckoutGateway(
        sandbox.api_key, api_base=sandbox.url, frontend_url=FRONTEND, clock=clock,
        max_network_retries=0,
    )  # fmt: skip
    yield gateway
    await gateway.aclose()


def new_request(email: str = "buyer@example.com") -> CheckoutRequest:
    order = an_order(f"ord_gw_{next(_orders)}_{datetime.now(UTC).timestamp():.0f}")
    return CheckoutRequest(order, email, f"checkout:{order.order_id}")


def stripe_get(sandbox: RunningStripeSandbox, path: str) -> dict[str, Any]:
    """Reads the sandbox's Stripe API directly, as a second opinion on what the gateway sent."""
    response = sandbox.http.get(path, headers={"Authorization": f"Bearer {sandbox.api_key}"})
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


def pay_on_hosted_page(session_url: str, card: str = "4242 4242 4242 4242") -> httpx.Response:
    """Submits the hosted page's card form, as the customer's browser would."""
    page = httpx.get(session_url)
    assert page.status_code == 200 and "card_number" in page.text
    return httpx.post(session_url, data={"card_number": card, "email": "buyer@example.com"})


async def test_a_session_carries_the_order_to_stripe(
    gateway: StripeCheckoutGateway, sandbox: RunningStripeSandbox
) -> None:
    request = new_request()

    session = await gateway.open_session(request)

    assert session.session_id.startswith("cs_test_") and session.url.startswith(sandbox.url)
    assert (session.amount_total, session.currency) == (20498, "usd")
    stored = stripe_get(sandbox, f"/v1/checkout/sessions/{session.session_id}")
    order_id = request.order.order_id
    assert stored["client_reference_id"] == order_id
    assert stored["metadata"] == {
        "orderId": order_id,
        "userId": "user_1",
        "checkoutAttempt": session.attempt,
    }
    assert session.attempt.startswith(f"checkout:{order_id}:")
    assert stored["mode"] == "payment"
    assert stored["success_url"].startswith(f"{FRONTEND}/orders/{order_id}?payment=success")
    assert stored["cancel_url"] == f"{FRONTEND}/orders/{order_id}?payment=cancelled"
    assert session.expires_at >= datetime.now(UTC) + timedelta(minutes=30)


async def test_asking_again_for_the_same_order_gives_the_same_session(
    gateway: StripeCheckoutGateway,
) -> None:
    request = new_request()

    first = await gateway.open_session(request)
    again = await gateway.open_session(request)

    assert again.session_id == first.session_id


async def test_concurrent_creates_for_one_order_make_one_session(
    gateway: StripeCheckoutGateway,
) -> None:
    request = new_request()

    sessions = await asyncio.gather(*(gateway.open_session(request) for _ in range(4)))

    assert len({s.session_id for s in sessions}) == 1


async def test_an_order_whose_lines_miss_the_total_is_refused_before_stripe_is_called(
    stripe_sandbox: RunningStripeSandbox, clock: FixedClock
) -> None:
    order = an_order("ord_gw_tampered")
    tampered = OrderSnapshot(order.order_id, order.user_id, "PENDING", order.lines,
                             Money(order.total.minor + 100, "usd"))  # fmt: skip
    # A sandbox of its own, that would take the session if the gateway sent it.
    gateway = StripeCheckoutGateway(
        stripe_sandbox.api_key, api_base=stripe_sandbox.url, frontend_url=FRONTEND,
        clock=clock, max_network_retries=0,
    )  # fmt: skip

    try:
        with pytest.raises(InvalidOrder):
            await gateway.open_session(CheckoutRequest(tampered, "", "checkout:ord_gw_tampered"))
        nothing = stripe_get(stripe_sandbox, "/v1/checkout/sessions?limit=100")["data"]
        # The same gateway does reach this sandbox with the order as it should be.
        await gateway.open_session(CheckoutRequest(order, "", "checkout:ord_gw_tampered"))
    finally:
        await gateway.aclose()

    assert nothing == []
    listed = stripe_get(stripe_sandbox, "/v1/checkout/sessions?limit=100")["data"]
    assert [s["amount_total"] for s in listed] == [order.total.minor]


async def test_stripe_down_is_checkout_unavailable(clock: FixedClock) -> None:
    gateway = StripeCheckoutGateway(  # the discard port: nothing of ours listens there
        "sk_test_x", api_base="http://127.0.0.1:9", frontend_url=FRONTEND,
        clock=clock, max_network_retries=1, timeout_seconds=2.0,
    )  # fmt: skip

    with pytest.raises(CheckoutUnavailable):
        await gateway.open_session(new_request())
    with pytest.raises(CheckoutUnavailable):
        await gateway.retrieve_session("cs_test_x")

    await gateway.aclose()


async def test_a_refused_call_is_checkout_unavailable_and_logs_stripes_request_id(
    sandbox: RunningStripeSandbox, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = StripeCheckoutGateway(
        "sk_live_not_a_sandbox_key", api_base=sandbox.url, frontend_url=FRONTEND, clock=clock,
        max_network_retries=0,
    )  # fmt: skip
    request = new_request()

    with caplog.at_level(logging.WARNING), pytest.raises(CheckoutUnavailable) as failure:
        await gateway.open_session(request)

    await gateway.aclose()
    assert failure.value.request_id is not None and failure.value.request_id.startswith("req_")
    logged = [r for r in caplog.records if getattr(r, "stripeRequestId", None)]
    assert logged and getattr(logged[0], "orderId", None) == request.order.order_id
    assert getattr(logged[0], "stripeRequestId", None) == failure.value.request_id
    assert all("sk_live_not_a_sandbox_key" not in r.getMessage() for r in caplog.records)


async def test_a_failed_create_does_not_poison_later_attempts(
    gateway: StripeCheckoutGateway, sandbox: RunningStripeSandbox, clock: FixedClock
) -> None:
    request = new_request()
    sandbox.arm_fault("checkout.sessions.create", status=500)

    with pytest.raises(CheckoutUnavailable):
        await gateway.open_session(request)
    # Stripe replays the saved 500 for that key; the next attempt moves on to a new key at
    # once (tests/infrastructure/test_stripe_create_retries.py)...
    session = await gateway.open_session(request)
    clock.advance(minutes=5)
    # ...and the next time bucket has keys of its own.
    later = await gateway.open_session(request)

    assert session.status == later.status == "open"


async def test_a_paid_session_is_reported_paid_and_can_be_refunded_once(
    gateway: StripeCheckoutGateway, sandbox: RunningStripeSandbox
) -> None:
    request = new_request()
    session = await gateway.open_session(request)

    paid = pay_on_hosted_page(session.url)
    seen = await gateway.retrieve_session(session.session_id)
    assert paid.status_code == 303
    assert (seen.status, seen.payment_status) == ("complete", "paid")
    assert seen.payment_intent is not None and seen.payment_intent.startswith("pi_")

    key = f"refund:{request.order.order_id}"
    refund = await gateway.refund(seen.payment_intent, request.order.total, key)
    again = await gateway.refund(seen.payment_intent, request.order.total, key)

    assert refund.refund_id.startswith("re_") and again == refund
    refunds = stripe_get(sandbox, f"/v1/refunds?payment_intent={seen.payment_intent}")["data"]
    assert [(r["id"], r["amount"]) for r in refunds] == [
        (refund.refund_id, request.order.total.minor)
    ]


async def test_expiring_an_open_session_then_again_is_expired_then_already_closed(
    gateway: StripeCheckoutGateway,
) -> None:
    session = await gateway.open_session(new_request())

    assert await gateway.expire_session(session.session_id) == "expired"
    assert await gateway.expire_session(session.session_id) == "already_closed"
    assert (await gateway.retrieve_session(session.session_id)).status == "expired"
    assert pay_on_hosted_page_status(session.url) != 303


def pay_on_hosted_page_status(session_url: str) -> int:
    return httpx.post(session_url, data={"card_number": "4242424242424242"}).status_code


async def test_a_paid_session_cannot_be_expired_and_says_so(
    gateway: StripeCheckoutGateway,
) -> None:
    session = await gateway.open_session(new_request())
    pay_on_hosted_page(session.url)

    assert await gateway.expire_session(session.session_id) == "already_closed"


async def test_expiring_an_unknown_session_is_a_rejection_not_a_retry(
    gateway: StripeCheckoutGateway,
) -> None:
    # Retrying cannot make the session exist: the processor parks it rather than stall (ADR 0012).
    with pytest.raises(ServiceRejected, match="cs_test_nope") as failure:
        await gateway.expire_session("cs_test_nope")

    # Met while answering a request, it is still a Stripe failure (500, DESIGN.md).
    assert isinstance(failure.value, CheckoutUnavailable)
    assert failure.value.request_id is not None


async def test_expiring_while_stripe_fails_is_still_checkout_unavailable(
    gateway: StripeCheckoutGateway, sandbox: RunningStripeSandbox
) -> None:
    session = await gateway.open_session(new_request())
    sandbox.arm_fault("checkout.sessions.expire", status=500)

    with pytest.raises(CheckoutUnavailable) as failure:
        await gateway.expire_session(session.session_id)

    assert not isinstance(failure.value, ServiceRejected)


async def paid_session(gateway: StripeCheckoutGateway) -> tuple[CheckoutRequest, str]:
    request = new_request()
    session = await gateway.open_session(request)
    pay_on_hosted_page(session.url)
    intent = (await gateway.retrieve_session(session.session_id)).payment_intent
    assert intent is not None
    return request, intent


async def test_a_refund_stripe_refuses_for_good_is_a_rejection(
    gateway: StripeCheckoutGateway,
) -> None:
    with pytest.raises(ServiceRejected, match="pi_nope"):
        await gateway.refund("pi_nope", Money(100, "usd"), "refund:ord_gw_nope")


async def test_a_charge_refunded_after_the_key_expired_gives_the_existing_refund(
    gateway: StripeCheckoutGateway, caplog: pytest.LogCaptureFixture
) -> None:
    # Stripe replays a key for 24 h; a refund asked again later (another key here) is
    # refused with `charge_already_refunded`: the money is back, and that refund says so.
    request, intent = await paid_session(gateway)
    first = await gateway.refund(intent, request.order.total, "refund:first")

    with caplog.at_level(logging.WARNING):
        again = await gateway.refund(intent, request.order.total, "refund:a-day-later")

    assert again == first
    assert any(getattr(r, "refundId", None) == first.refund_id for r in caplog.records)


@pytest.mark.parametrize("status", [409, 429, 500])
async def test_a_refund_stripe_fails_for_now_is_still_checkout_unavailable(
    gateway: StripeCheckoutGateway, sandbox: RunningStripeSandbox, status: int
) -> None:
    request, intent = await paid_session(gateway)
    sandbox.arm_fault("refunds.create", status=status)

    with pytest.raises(CheckoutUnavailable) as failure:
        await gateway.refund(intent, request.order.total, f"refund:{request.order.order_id}")

    assert not isinstance(failure.value, ServiceRejected)


async def test_a_session_create_stripe_refuses_stays_checkout_unavailable(
    gateway: StripeCheckoutGateway, sandbox: RunningStripeSandbox
) -> None:
    # The API answers `Failed to create payment session` (500) for it, as before.
    sandbox.arm_fault("checkout.sessions.create", status=400)

    with pytest.raises(CheckoutUnavailable) as failure:
        await gateway.open_session(new_request())

    assert not isinstance(failure.value, ServiceRejected)


async def test_undelivered_events_are_listed_for_reconciliation(
    gateway: StripeCheckoutGateway,
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    request = new_request()
    session = await gateway.open_session(request)
    pay_on_hosted_page(session.url)

    events = await gateway.undelivered_events(since)

    ours = [e for e in events if e.type == "checkout.session.completed"
            and e.checkout_session().id == session.session_id]  # fmt: skip
    assert len(ours) == 1
    assert ours[0].checkout_session().order_id == request.order.order_id
    assert ours[0].checkout_session().payment_status == "paid"
    assert all(e.is_handled for e in events)


async def test_a_yen_order_is_charged_in_whole_yen(gateway: StripeCheckoutGateway) -> None:
    order = an_order(f"ord_gw_jpy_{next(_orders)}", currency="jpy", lines=(
        OrderLine("prod_tea", "Tea set", 3, Money(1500, "jpy")),
    ))  # fmt: skip

    session = await gateway.open_session(CheckoutRequest(order, "", f"checkout:{order.order_id}"))

    assert (session.amount_total, session.currency) == (4500, "jpy")


@pytest.mark.parametrize("minutes", [29, 1441])
def test_an_expiry_stripe_would_refuse_stops_start_up(minutes: int, clock: FixedClock) -> None:
    with pytest.raises(ValueError, match="expires_minutes"):
        StripeCheckoutGateway(
            "sk_test_x", frontend_url=FRONTEND, expires_minutes=minutes, clock=clock
        )


async def test_an_ordered_refund_carries_its_reason_and_ids_and_is_made_once(
    gateway: StripeCheckoutGateway, sandbox: RunningStripeSandbox
) -> None:
    request, intent = await paid_session(gateway)
    ours = {"orderId": request.order.order_id, "refundId": "rf_gw_1"}
    part = Money(1000, "usd")

    made = await gateway.refund(
        intent, part, "refund:rf_gw_1", reason="requested_by_customer", metadata=ours
    )
    # Asked again after Stripe forgot the key (another key here): found by its refundId.
    again = await gateway.refund(intent, part, "refund:rf_gw_1:later", metadata=ours)

    assert again.refund_id == made.refund_id and made.status in {"pending", "succeeded"}
    refunds = stripe_get(sandbox, f"/v1/refunds?payment_intent={intent}")["data"]
    assert [(r["id"], r["amount"], r["reason"], r["metadata"]) for r in refunds] == [
        (made.refund_id, 1000, "requested_by_customer", ours)
    ]


async def test_a_payment_intent_names_its_order(gateway: StripeCheckoutGateway) -> None:
    request, intent = await paid_session(gateway)

    found = await gateway.retrieve_payment_intent(intent)

    assert (found.intent_id, found.order_id) == (intent, request.order.order_id)
    with pytest.raises(ServiceRejected):
        await gateway.retrieve_payment_intent("pi_nobody_knows")


async def test_a_refund_and_a_dispute_are_read_back_as_stripe_now_has_them(
    gateway: StripeCheckoutGateway, sandbox: RunningStripeSandbox
) -> None:
    request, intent = await paid_session(gateway)
    ours = {"orderId": request.order.order_id, "refundId": "rf_gw_read"}
    made = await gateway.refund(intent, Money(700, "usd"), "refund:rf_gw_read", metadata=ours)
    sandbox.admin("POST", f"/_sandbox/refunds/{made.refund_id}/fail")
    opened = sandbox.admin("POST", "/_sandbox/disputes", {"payment_intent": intent})
    sandbox.admin("POST", f"/_sandbox/disputes/{opened['id']}/lose")

    refund = await gateway.retrieve_refund(made.refund_id)
    dispute = await gateway.retrieve_dispute(opened["id"])

    assert (refund.id, refund.status, refund.amount, refund.currency) == (
        made.refund_id, "failed", 700, "usd",
    )  # fmt: skip
    assert (refund.payment_intent, refund.ours, refund.order_id) == (
        intent, "rf_gw_read", request.order.order_id,
    )  # fmt: skip
    assert (dispute.status, dispute.payment_intent, dispute.reason) == (
        "lost", intent, "fraudulent",
    )  # fmt: skip
    with pytest.raises(ServiceRejected):
        await gateway.retrieve_refund("re_nobody_knows")
    with pytest.raises(ServiceRejected):
        await gateway.retrieve_dispute("du_nobody_knows")


async def test_undelivered_refund_and_dispute_events_are_listed_oldest_first(
    gateway: StripeCheckoutGateway, sandbox: RunningStripeSandbox
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    request, intent = await paid_session(gateway)
    made = await gateway.refund(intent, Money(500, "usd"), f"refund:{request.order.order_id}")
    sandbox.admin("POST", f"/_sandbox/refunds/{made.refund_id}/fail")
    opened = sandbox.admin("POST", "/_sandbox/disputes", {"payment_intent": intent})
    sandbox.admin("POST", f"/_sandbox/disputes/{opened['id']}/lose")

    events = await gateway.undelivered_events(since)

    about_refund = [e.type for e in events if e.type.startswith(("refund.", "charge.refund."))
                    and e.refund().id == made.refund_id]  # fmt: skip
    about_dispute = [e.type for e in events if e.type.startswith("charge.dispute.")
                     and e.dispute().id == opened["id"]]  # fmt: skip
    assert about_refund == [
        "refund.created", "refund.updated", "refund.failed", "charge.refund.updated",
    ]  # fmt: skip
    assert about_dispute == [
        "charge.dispute.created", "charge.dispute.funds_withdrawn", "charge.dispute.closed",
    ]  # fmt: skip
    paid_at = next(i for i, e in enumerate(events) if e.type == "checkout.session.completed"
                   and e.checkout_session().payment_intent == intent)  # fmt: skip
    charge_refunded = next(i for i, e in enumerate(events) if e.type == "charge.refunded"
                           and e.charge().payment_intent == intent)  # fmt: skip
    assert paid_at < charge_refunded
