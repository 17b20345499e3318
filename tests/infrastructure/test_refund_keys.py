"""The refunds API's idempotency keys on the real stores (SQLite and PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from application.ledger import PaymentLedger
from application.refund_keys import RefundKey, fingerprint_of, refund_id_for
from infrastructure.event_store.store import event_store_env
from infrastructure.refunds.keys_for_store import refund_keys_for

AT = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def candidate(key: str, order_id: str = "ord_1", amount: int | None = 5000) -> RefundKey:
    fingerprint = fingerprint_of(order_id, amount, "requested_by_customer")
    return RefundKey(key, fingerprint, order_id, refund_id_for(key), AT)


def test_the_first_claim_of_a_key_is_the_one_kept(ledger: PaymentLedger) -> None:
    keys = refund_keys_for(ledger)
    assert keys.find("key-1") is None
    first = candidate("key-1")
    assert keys.claim(first) == first
    assert keys.claim(candidate("key-1", "ord_2", None)) == first
    assert keys.find("key-1") == first
    assert keys.find("key-2") is None


def test_keys_outlive_the_process(store_url: str) -> None:
    with PaymentLedger(event_store_env(store_url)) as ledger:
        refund_keys_for(ledger).claim(candidate("key-1"))
    with PaymentLedger(event_store_env(store_url)) as ledger:
        assert refund_keys_for(ledger).find("key-1") == candidate("key-1")


def test_concurrent_claims_of_one_key_all_get_the_same_winner(ledger: PaymentLedger) -> None:
    keys = refund_keys_for(ledger)
    candidates = [candidate("key-1", f"ord_{n}") for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        kept = list(pool.map(keys.claim, candidates))
    assert len(set(kept)) == 1
    assert kept[0] in candidates
    assert keys.find("key-1") == kept[0]
