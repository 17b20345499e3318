from __future__ import annotations

from typing import Any

import pytest

from application.apply_stripe_event import Outcome
from application.stripe_events import StripeEvent, decode_stripe_event
from domain.lifecycle import FailedPaymentPolicy, PaymentStatus
from domain.money import Money
from tests.application.conftest import BUYER, World
from tests.stripe_payloads import checkout_event, encode, payment_failed_event


def event(payload: dict[str, Any]) -> StripeEvent:
    return decode_stripe_event(encode(payload))


@pytest.fixture
async def session_id(world: World) -> str:
    return (await world.create_session()(BUYER, "ord_1")).session_id


def completed(session_id: str, **kw: Any) -> StripeEvent:
    return event(checkout_event("checkout.session.completed", "ord_1", session_id, **kw))


async def test_paid_completion_is_recorded_once(world: World, session_id: str) -> None:
    paid = completed(session_id)
    assert await world.apply()(paid) is Outcome.RECORDED
    assert await world.apply()(paid) is Outcome.DUPLICATE
    payment = world.payment("ord_1")
    assert payment.status is PaymentStatus.SUCCESS
    assert payment.version == 2
    assert payment.customer_email == "buyer@example.com"


async def test_expired_after_completed_changes_nothing(world: World, session_id: str) -> None:
    await world.apply()(completed(session_id))
    late = event(checkout_event("checkout.session.expired", "ord_1", session_id))
    assert await world.apply()(late) is Outcome.NO_CHANGE
    assert world.payment("ord_1").status is PaymentStatus.SUCCESS


async def test_completed_after_expired_requests_a_refund(world: World, session_id: str) -> None:
    await world.apply()(event(checkout_event("checkout.session.expired", "ord_1", session_id)))
    assert await world.apply()(completed(session_id)) is Outcome.RECORDED
    payment = world.payment("ord_1")
    assert payment.status is PaymentStatus.FAILED
    assert payment.refund_due == payment.amount


async def test_unpaid_completion_waits_then_async_result_decides(
    world: World,
    session_id: str,
) -> None:
    await world.apply()(completed(session_id, payment_status="unpaid"))
    assert world.payment("ord_1").status is PaymentStatus.INITIATED
    failed = event(checkout_event("checkout.session.async_payment_failed", "ord_1", session_id))
    await world.apply()(failed)
    assert world.payment("ord_1").status is PaymentStatus.FAILED


@pytest.mark.parametrize(
    ("policy", "status"),
    [
        (FailedPaymentPolicy.CANCEL, PaymentStatus.FAILED),
        (FailedPaymentPolicy.RETRY, PaymentStatus.INITIATED),
    ],
)
async def test_declined_card_follows_the_policy(
    world: World,
    session_id: str,
    policy: FailedPaymentPolicy,
    status: str,
) -> None:
    await world.apply(policy)(event(payment_failed_event("ord_1")))
    payment = world.payment("ord_1")
    assert payment.status is status
    assert payment.decline_message == "Your card was declined."


async def test_events_that_are_not_ours_are_ignored_and_record_nothing(
    world: World,
    session_id: str,
) -> None:
    strangers = [
        checkout_event("checkout.session.completed", "ord_unknown", "cs_other"),
        checkout_event("checkout.session.expired", "ord_1", "cs_not_the_orders_session"),
        {
            **checkout_event("checkout.session.completed", "ord_1", session_id),
            "type": "invoice.paid",
        },
        payment_failed_event("ord_unknown"),
    ]
    for payload in strangers:
        assert await world.apply()(event(payload)) is Outcome.IGNORED
    assert world.payment("ord_1").version == 1


async def test_amount_received_is_what_stripe_reports(world: World, session_id: str) -> None:
    await world.apply()(completed(session_id, amount_total=20498, currency="usd"))
    assert world.payment("ord_1").amount_received == Money(20498, "usd")


async def test_a_session_that_needed_no_payment_does_not_confirm_the_order(
    world: World,
    session_id: str,
) -> None:
    await world.apply()(completed(session_id, payment_status="no_payment_required", amount_total=0))
    assert world.payment("ord_1").status is PaymentStatus.INITIATED


async def test_a_paid_session_for_another_amount_is_refunded_not_confirmed(
    world: World,
    session_id: str,
) -> None:
    await world.apply()(completed(session_id, amount_total=1, currency="usd"))
    payment = world.payment("ord_1")
    assert payment.status is PaymentStatus.FAILED
    assert payment.refund_due == Money(1, "usd")
