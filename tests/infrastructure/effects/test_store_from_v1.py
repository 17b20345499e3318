"""A store written by the version before the effects queue keeps working (fixture from caba141)."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from application.ledger import PaymentLedger
from infrastructure.audit.verification import verify_store
from infrastructure.effects.queue_for_store import due_payments_for
from infrastructure.event_store.store import event_store_env
from tests.infrastructure.effects.queue_world import Neighbours, eventually, owes_nothing

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stores"
DESCRIPTION = json.loads((FIXTURES / "v1_payments.json").read_text())


@pytest.fixture
def v1_ledger(tmp_path: Path) -> Iterator[PaymentLedger]:
    copy = tmp_path / "v1_payments.db"
    shutil.copyfile(FIXTURES / "v1_payments.db", copy)
    ledger = PaymentLedger(event_store_env(f"sqlite:///{copy}"))
    yield ledger
    ledger.close()


def test_every_payment_replays_as_it_was_written(v1_ledger: PaymentLedger) -> None:
    for order_id, expected in DESCRIPTION["payments"].items():
        payment = v1_ledger.find(order_id)
        assert payment is not None, order_id
        assert payment.status.value == expected["status"], order_id
        assert payment.version == expected["version"], order_id
        assert payment.amount.minor == expected["amount_minor"], order_id
        pending = [type(effect).__name__ for effect in payment.pending_effects()]
        assert pending == expected["pending_effects"], order_id


def test_its_audit_chain_still_verifies(v1_ledger: PaymentLedger) -> None:
    report, _ = verify_store(v1_ledger)
    assert report.ok, report
    assert report.events == sum(p["event_count"] for p in DESCRIPTION["payments"].values())


@pytest.fixture
async def neighbours_running(v1_ledger: PaymentLedger) -> AsyncIterator[Neighbours]:
    neighbours = Neighbours()
    pipeline = neighbours.pipeline(v1_ledger)
    await pipeline.start()
    yield neighbours
    await pipeline.stop()


async def test_the_queue_starts_where_the_old_processor_stopped(
    v1_ledger: PaymentLedger, neighbours_running: Neighbours
) -> None:
    owing = [o for o, p in DESCRIPTION["payments"].items() if p["pending_effects"]]

    await eventually(owes_nothing(v1_ledger, *owing), "what the old processor left is settled")
    await eventually(lambda: due_payments_for(v1_ledger).depth().due == 0, "queue drained")

    # Only what was still owed is performed: nothing the old processor did is repeated.
    assert sorted(neighbours_running.orders.statuses_set) == [
        ("ord_v1_owing", "CONFIRMED"),
        ("ord_v1_parked", "CANCELLED"),
    ]
    assert sorted(neighbours_running.inventory.releases) == [
        ("ord_v1_parked", "prod_a", 2),
        ("ord_v1_parked", "prod_b", 1),
    ]
    assert neighbours_running.checkout.refunds == []
    # Every event up to the last one that could owe something is fed; the facts recorded
    # after it are read, not stored (ADR 0015).
    assert due_payments_for(v1_ledger).position() >= DESCRIPTION["max_notification_id"]
