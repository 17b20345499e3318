"""A webhook's body is decoded once: its object is typed on first use, then reused."""

from __future__ import annotations

import msgspec
import pytest

from application.stripe_events import CheckoutSessionObject, decode_stripe_event
from tests.stripe_payloads import checkout_event, encode, payment_failed_event


def test_the_checkout_session_is_converted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    event = decode_stripe_event(
        encode(checkout_event("checkout.session.completed", "ord_1", "cs_1"))
    )
    conversions: list[type] = []
    convert = msgspec.convert

    def counted(value: object, kind: type) -> object:
        conversions.append(kind)
        return convert(value, kind)

    monkeypatch.setattr(msgspec, "convert", counted)
    session = event.checkout_session()

    assert event.checkout_session() is session and session.order_id == "ord_1"
    assert conversions == []  # decoding typed it already, to validate it
    assert isinstance(session, CheckoutSessionObject)


def test_a_payment_intent_is_typed_once_too() -> None:
    event = decode_stripe_event(encode(payment_failed_event("ord_1", "pi_1")))
    assert event.payment_intent() is event.payment_intent()
    assert event.payment_intent().order_id == "ord_1"


def test_the_event_encodes_as_it_was_received() -> None:
    payload = checkout_event("checkout.session.completed", "ord_1", "cs_1")
    event = decode_stripe_event(encode(payload))
    event.checkout_session()
    assert msgspec.json.decode(msgspec.json.encode(event))["data"] == payload["data"]
