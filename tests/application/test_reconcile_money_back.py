"""Reconcile recovers refund and dispute news whose webhook never came (issue 12).

Two ways, both through the webhook's own use case: Stripe's undelivered refund and
dispute events, by their real ids; and refunds still pending, or disputes still open, an
hour after their last news, read back from Stripe and applied as the equivalent event
with id `reconcile:{refund or dispute}:{status}`, so a second run, or the real webhook
arriving later, changes nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from application.apply_stripe_event import Outcome
from application.ports import DisputeReport, PaymentIntentState
from application.reconcile import ReconcileChange, ReconcileSummary
from application.stripe_events import DisputeObject, RefundObject, decode_stripe_event
from domain.money import Money
from infrastructure.event_store.unsettled_money_back_index import FollowedUnsettledMoneyBack
from tests.application.conftest import BUYER, World
from tests.application.test_refund_outcomes import (
    ORDER,
    PAID,
    alerts,
    order_refund,
    paid,
    settle,
    stripe_sends,
)
from tests.fakes import an_order
from tests.stripe_payloads import checkout_event, dispute_event, encode, refund_event

OURS = {"orderId": ORDER, "refundId": "rf_1"}


@pytest.fixture(autouse=True)
def wall_clock(world: World) -> None:
    # The payment's events take their time from the wall clock: start the fake's there.
    world.clock.current = datetime.now(UTC)


async def refund_pending(world: World) -> None:
    """Paid, then an operator's refund of everything that Stripe made `pending` (re_1)."""
    await paid(world)
    world.stripe.refund_status = "pending"
    order_refund(world, "rf_1", None)
    await settle(world)


async def dispute_open(world: World) -> None:
    """Paid, then a chargeback Stripe told us of (dp_1, needs_response)."""
    await paid(world)
    await stripe_sends(world, dispute_event("charge.dispute.created", "dp_1", "needs_response"))


def stripe_closes_dispute(world: World, status: str) -> None:
    world.stripe.disputes["dp_1"] = DisputeObject(
        "dp_1", 20498, "usd", status, "fraudulent", "pi_test_1", "ch_test_1"
    )


def changed(summary: ReconcileSummary) -> list[tuple[str, str, str, str]]:
    return [(c.event_id, c.event_type, c.object_id, c.status_after) for c in summary.changes]


async def shown(world: World) -> tuple[str, Money | None, DisputeReport | None]:
    report = await world.status()(BUYER, ORDER)
    return report.status, report.refunded_amount, report.dispute


async def test_a_refund_failure_whose_delivery_failed_is_recovered(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await refund_pending(world)
    failed = refund_event("refund.failed", "re_1", 20498, "failed", metadata=OURS, evt_id="evt_rf")
    world.stripe.undelivered = [decode_stripe_event(encode(failed))]
    sweep = world.reconcile()

    with caplog.at_level(logging.INFO):
        first = await sweep()
    second = await sweep()

    assert changed(first) == [("evt_rf", "refund.failed", "re_1", "SUCCESS")]
    assert first.changes[0].session_id == world.payment(ORDER).checkout_session_id
    assert alerts(caplog) == ["refund failed at stripe; its amount is refundable again"]
    assert world.payment(ORDER).refundable == PAID
    assert second.changes == [] and second.undelivered_seen == 1


async def test_a_pending_refund_stripe_now_says_failed_is_recorded_failed_with_an_alert(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await refund_pending(world)
    world.stripe.refund_moves_to("re_1", "failed")  # and its webhooks never come

    world.clock.advance(minutes=50)
    early = await world.reconcile()()
    world.clock.advance(minutes=20)
    sweep = world.reconcile()
    with caplog.at_level(logging.INFO):
        first = await sweep()
    second = await sweep()

    assert (early.refunds_checked, early.changes) == (0, [])  # within the hour: not asked
    assert first.refunds_checked == 1
    assert changed(first) == [("reconcile:re_1:failed", "refund.failed", "re_1", "SUCCESS")]
    assert alerts(caplog) == ["refund failed at stripe; its amount is refundable again"]
    assert await shown(world) == ("SUCCESS", None, None)
    assert world.payment(ORDER).refundable == PAID
    assert (second.refunds_checked, second.changes) == (0, [])  # failed is final
    assert (await world.reconcile()()).changes == []  # a fresh process agrees


async def test_a_refund_still_pending_at_stripe_records_nothing(world: World) -> None:
    await refund_pending(world)
    version = world.payment(ORDER).version
    world.clock.advance(hours=2)

    summary = await world.reconcile()()

    assert (summary.refunds_checked, summary.changes, summary.errors) == (1, [], [])
    assert world.payment(ORDER).version == version


async def test_a_refund_that_succeeded_meanwhile_refunds_the_payment(world: World) -> None:
    await refund_pending(world)
    world.stripe.refund_moves_to("re_1", "succeeded")
    world.clock.advance(hours=2)

    summary = await world.reconcile()()

    assert changed(summary) == [("reconcile:re_1:succeeded", "refund.updated", "re_1", "REFUNDED")]
    assert await shown(world) == ("REFUNDED", PAID, None)


async def test_a_dashboard_refund_left_pending_is_read_back_too(world: World) -> None:
    await paid(world)
    await stripe_sends(world, refund_event("refund.created", "re_dash", 20498, "pending"))
    world.stripe.stripe_refunds["re_dash"] = RefundObject(
        "re_dash", 20498, "usd", "succeeded", "pi_test_1", "ch_test_1"
    )
    world.clock.advance(hours=2)

    summary = await world.reconcile()()

    assert changed(summary) == [
        ("reconcile:re_dash:succeeded", "refund.updated", "re_dash", "REFUNDED")
    ]


async def test_an_open_dispute_stripe_now_says_lost_is_recorded_lost(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await dispute_open(world)
    stripe_closes_dispute(world, "lost")
    world.clock.advance(hours=2)
    sweep = world.reconcile()
    caplog.clear()  # the opening's alert

    with caplog.at_level(logging.INFO):
        first = await sweep()
    second = await sweep()

    assert first.disputes_checked == 1
    assert changed(first) == [("reconcile:dp_1:lost", "charge.dispute.closed", "dp_1", "REFUNDED")]
    assert alerts(caplog) == ["dispute lost: the money went back to the cardholder"]
    assert await shown(world) == ("REFUNDED", PAID, DisputeReport("lost", PAID, "fraudulent"))
    assert (second.disputes_checked, second.changes) == (0, [])


async def test_a_dispute_still_open_and_unchanged_records_nothing(world: World) -> None:
    await dispute_open(world)
    stripe_closes_dispute(world, "needs_response")
    world.clock.advance(hours=2)

    summary = await world.reconcile()()

    assert (summary.disputes_checked, summary.changes) == (1, [])


async def test_the_real_webhooks_arriving_after_reconcile_change_nothing(world: World) -> None:
    await refund_pending(world)
    await stripe_sends(world, dispute_event("charge.dispute.created", "dp_1", "needs_response"))
    world.stripe.refund_moves_to("re_1", "failed")
    stripe_closes_dispute(world, "won")
    world.clock.advance(hours=2)
    summary = await world.reconcile()()
    version = world.payment(ORDER).version

    late = [
        refund_event("refund.updated", "re_1", 20498, "failed", metadata=OURS),
        refund_event("refund.failed", "re_1", 20498, "failed", metadata=OURS),
        refund_event("charge.refund.updated", "re_1", 20498, "failed", metadata=OURS),
        dispute_event("charge.dispute.funds_reinstated", "dp_1", "won"),
        dispute_event("charge.dispute.closed", "dp_1", "won"),
    ]

    assert [c.event_id for c in summary.changes] == ["reconcile:re_1:failed", "reconcile:dp_1:won"]
    assert [await stripe_sends(world, event) for event in late] == [Outcome.NO_CHANGE] * 5
    assert world.payment(ORDER).version == version


async def test_a_dry_run_reports_refunds_and_disputes_and_records_nothing(world: World) -> None:
    await refund_pending(world)
    await stripe_sends(world, dispute_event("charge.dispute.created", "dp_1", "needs_response"))
    world.stripe.refund_moves_to("re_1", "failed")
    stripe_closes_dispute(world, "lost")
    world.clock.advance(hours=2)
    version = world.payment(ORDER).version

    dry = await world.reconcile()(dry_run=True)

    assert world.payment(ORDER).version == version
    assert dry.changes == [
        ReconcileChange(ORDER, "cs_test_1", "reconcile:re_1:failed", "refund.failed", "", "re_1"),
        ReconcileChange(
            ORDER, "cs_test_1", "reconcile:dp_1:lost", "charge.dispute.closed", "", "dp_1"
        ),
    ]
    real = await world.reconcile()()
    assert [c.event_id for c in real.changes] == [c.event_id for c in dry.changes]


async def test_a_dry_run_reports_an_undelivered_refund_event_once(world: World) -> None:
    await refund_pending(world)
    world.stripe.refund_moves_to("re_1", "failed")
    failed = refund_event("refund.failed", "re_1", 20498, "failed", metadata=OURS, evt_id="evt_rf")
    world.stripe.undelivered = [decode_stripe_event(encode(failed))]
    world.clock.advance(hours=2)

    dry = await world.reconcile()(dry_run=True)

    # The real run would apply Stripe's event and then find the refund settled.
    assert [c.event_id for c in dry.changes] == ["evt_rf"]
    assert dry.refunds_checked == 0


async def test_stripe_failing_to_answer_is_reported_and_changes_nothing(world: World) -> None:
    await refund_pending(world)
    await stripe_sends(world, dispute_event("charge.dispute.created", "dp_1", "needs_response"))
    world.clock.advance(hours=2)
    world.stripe.down = True

    summary = await world.reconcile()()

    assert summary.changes == []
    assert summary.errors == [
        "order ord_1: refund re_1: stripe down",
        "order ord_1: dispute dp_1: stripe down",
    ]


async def test_the_index_lists_only_payments_with_money_back_unsettled(world: World) -> None:
    index = FollowedUnsettledMoneyBack(world.ledger)
    await refund_pending(world)  # ord_1: re_1 pending
    # ord_2: a dashboard refund that succeeded at once
    world.orders.add(an_order("ord_2", "user_1"))
    world.stripe.payment_intents["pi_test_2"] = PaymentIntentState(
        "pi_test_2", "succeeded", "ord_2"
    )
    link = await world.create_session()(BUYER, "ord_2")
    paid_2 = checkout_event("checkout.session.completed", "ord_2", link.session_id,
                            payment_intent="pi_test_2")  # fmt: skip
    await stripe_sends(world, paid_2)
    dashboard = refund_event("refund.created", "re_2", 100, "succeeded", "pi_test_2")
    assert await stripe_sends(world, dashboard) is Outcome.RECORDED

    listed = index.refresh()
    assert [(u.order_id, [r.stripe_id for r in u.refunds]) for u in listed] == [(ORDER, ["re_1"])]

    await stripe_sends(world, refund_event("refund.updated", "re_1", 20498, "succeeded",
                                           metadata=OURS))  # fmt: skip
    assert index.refresh() == []
    await stripe_sends(world, dispute_event("charge.dispute.created", "dp_1", "needs_response"))
    assert [[d.stripe_id for d in u.disputes] for u in index.refresh()] == [["dp_1"]]
    await stripe_sends(world, dispute_event("charge.dispute.closed", "dp_1", "won"))
    assert index.refresh() == []
