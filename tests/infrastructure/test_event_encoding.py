"""The msgspec mapper stores events as JSON and gives back equal, typed events."""

from __future__ import annotations

import json
from datetime import datetime

from domain.audit_chain import digest_of
from domain.lifecycle import FailureReason
from domain.money import Money
from domain.order import OrderLine
from infrastructure.event_store.encoding import MsgspecMapper, MsgspecTranscoder
from tests.domain.conftest import initiated_payment


def test_events_round_trip_with_their_types_and_hashes() -> None:
    payment = initiated_payment()
    payment.fail(FailureReason.EXPIRED, "evt_1")
    mapper = MsgspecMapper(transcoder=MsgspecTranscoder())
    for event in payment.collect_events():
        stored = mapper.to_stored_event(event)
        json.loads(stored.state)  # plain JSON an auditor can read with any tool
        restored = mapper.to_domain_event(stored)
        assert type(restored) is type(event)
        assert vars(restored) == vars(event)
        assert digest_of(restored) == vars(event)["chain_hash"]
    initiated = mapper.to_domain_event(
        mapper.to_stored_event(initiated_payment().collect_events()[0])
    )
    assert isinstance(vars(initiated)["amount"], Money)
    assert isinstance(vars(initiated)["lines"][0], OrderLine)
    assert isinstance(vars(initiated)["expires_at"], datetime)


def test_a_failure_reason_is_stored_as_its_word_and_read_back_as_the_enum() -> None:
    payment = initiated_payment()
    payment.fail(FailureReason.EXPIRED, "evt_1")
    mapper = MsgspecMapper(transcoder=MsgspecTranscoder())
    (_, failed) = payment.collect_events()
    stored = mapper.to_stored_event(failed)

    assert json.loads(stored.state)["reason"] == "expired"
    assert vars(mapper.to_domain_event(stored))["reason"] is FailureReason.EXPIRED
