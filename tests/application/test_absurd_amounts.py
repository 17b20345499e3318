"""Signed but absurd: amounts no real charge has, event ids Stripe never sends (issue 11 item 5).

Stripe signed the event, so it is not forged; but an amount that is negative, zero for
an order that costs something, beyond Stripe's largest charge, or in a currency Stripe
does not have, is not money received. It is logged with an alert and nothing is
recorded; above all no refund is ever owed for it.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from application.apply_stripe_event import Outcome
from application.stripe_events import MalformedStripeEvent, StripeEvent, decode_stripe_event
from domain.lifecycle import FailedPaymentPolicy
from tests.application.conftest import BUYER, World
from tests.stripe_payloads import checkout_event, encode

ABSURD = {
    "negative": {"amount_total": -20498},
    "zero for a non-zero order": {"amount_total": 0},
    "beyond Stripe's largest charge": {"amount_total": 100_000_000},
    "far beyond it": {"amount_total": 2**63},
    "a currency Stripe does not have": {"currency": "xyz"},
    "not a currency code at all": {"currency": "us dollars"},
}


def decoded(payload: dict[str, Any]) -> StripeEvent:
    return decode_stripe_event(encode(payload))


@pytest.fixture
async def session_id(world: World) -> str:
    return (await world.create_session()(BUYER, "ord_1")).session_id


def alerts(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "alert", False)]


@pytest.mark.parametrize("fields", ABSURD.values(), ids=ABSURD.keys())
@pytest.mark.parametrize(
    "event_type", ["checkout.session.completed", "checkout.session.async_payment_succeeded"]
)
async def test_an_absurd_amount_is_never_money_received(
    world: World,
    session_id: str,
    event_type: str,
    fields: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = checkout_event(event_type, "ord_1", session_id, **fields)

    with caplog.at_level(logging.INFO):
        outcome = await world.apply()(decoded(payload))

    assert outcome is Outcome.IGNORED
    assert world.payment("ord_1").version == 1
    assert world.payment("ord_1").pending_effects() == []
    assert [r.getMessage() for r in alerts(caplog)], "no alert was logged"


@pytest.mark.parametrize("fields", ABSURD.values(), ids=ABSURD.keys())
async def test_after_a_failure_an_absurd_amount_owes_no_refund(
    world: World, session_id: str, fields: dict[str, Any]
) -> None:
    await world.apply()(decoded(checkout_event("checkout.session.expired", "ord_1", session_id)))
    late = checkout_event("checkout.session.completed", "ord_1", session_id, **fields)

    assert await world.apply()(decoded(late)) is Outcome.IGNORED

    payment = world.payment("ord_1")
    assert payment.refund_due is None
    assert all(type(e).__name__ != "RefundPayment" for e in payment.pending_effects())


async def test_an_absurd_amount_later_corrected_is_still_received(
    world: World, session_id: str
) -> None:
    """Nothing is recorded for the absurd event, so the true one (or a retry) still counts."""
    absurd = checkout_event("checkout.session.completed", "ord_1", session_id, amount_total=-1)
    await world.apply()(decoded(absurd))
    true = checkout_event("checkout.session.completed", "ord_1", session_id)
    assert await world.apply()(decoded(true)) is Outcome.RECORDED
    assert world.payment("ord_1").status.value == "SUCCESS"


async def test_a_plausible_wrong_amount_is_still_refunded(world: World, session_id: str) -> None:
    """One cent short is a real charge of the wrong amount: received, failed, refunded."""
    short = checkout_event("checkout.session.completed", "ord_1", session_id, amount_total=20497)
    assert await world.apply(FailedPaymentPolicy.CANCEL)(decoded(short)) is Outcome.RECORDED
    assert world.payment("ord_1").refund_due is not None
    assert world.payment("ord_1").refund_due.minor == 20497  # type: ignore[union-attr]


@pytest.mark.parametrize("evt_id", ["", "e" * 256])
def test_an_event_id_must_be_1_to_255_characters(evt_id: str) -> None:
    payload = checkout_event("checkout.session.completed", "ord_1", "cs_1")
    payload["id"] = evt_id
    with pytest.raises(MalformedStripeEvent):
        decoded(payload)


def test_an_event_id_of_255_characters_is_read() -> None:
    payload = checkout_event("checkout.session.completed", "ord_1", "cs_1")
    payload["id"] = "e" * 255
    assert decoded(payload).id == "e" * 255
