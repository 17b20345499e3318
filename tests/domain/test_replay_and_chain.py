"""Replaying stored events rebuilds the same payment; the hash chain tells tampering."""

from __future__ import annotations

from domain.audit_chain import GENESIS_HASH, digest_of
from domain.lifecycle import FailedPaymentPolicy, FailureReason
from domain.money import Money
from domain.payment import Payment
from tests.domain.conftest import initiated_payment


def a_full_history() -> tuple[Payment, list[Payment.Event]]:
    payment = initiated_payment()
    payment.await_async_payment("evt_0", "pi_1")
    payment.decline("evt_1", "pi_1", "declined", FailedPaymentPolicy.RETRY)
    payment.fail(FailureReason.EXPIRED, "evt_2")
    payment.record_inventory_released("prod_a")
    payment.succeed("evt_3", "pi_1", "buyer@example.com", Money(20498, "usd"))
    payment.record_refunded("re_1")
    return payment, [e for e in payment.collect_events() if isinstance(e, Payment.Event)]


def replay(events: list[Payment.Event]) -> Payment:
    rebuilt = None
    for event in events:
        rebuilt = event.mutate(rebuilt)
    assert isinstance(rebuilt, Payment)
    return rebuilt


def test_replay_gives_the_same_state() -> None:
    payment, events = a_full_history()
    rebuilt = replay(events)
    assert rebuilt.status == payment.status
    assert rebuilt.version == payment.version == len(events)
    assert rebuilt.pending_effects() == payment.pending_effects()
    assert vars(rebuilt) == vars(payment)


def test_each_event_is_chained_to_the_previous_one() -> None:
    _, events = a_full_history()
    previous = GENESIS_HASH
    for event in events:
        assert vars(event)["previous_hash"] == previous
        assert digest_of(event) == vars(event)["chain_hash"]
        previous = vars(event)["chain_hash"]


def test_an_altered_event_no_longer_matches_its_hash() -> None:
    _, events = a_full_history()
    tampered = events[0]
    object.__setattr__(tampered, "amount", Money(1, "usd"))
    assert digest_of(tampered) != vars(tampered)["chain_hash"]
