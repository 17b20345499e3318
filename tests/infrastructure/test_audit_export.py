"""The export gives one row per event of the store, with the running status after it.

Payments are replayed through a bounded cache; one evicted from it is reloaded with
the same state (memory use itself is not measured here).
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from decimal import Decimal

from application.ledger import PaymentLedger
from domain.payment import payment_id_for
from infrastructure.audit.export import RunningPayments, export_rows, write_rows
from infrastructure.audit.stored_events import stored_payment_events
from tests.infrastructure.payment_histories import START, expired, opened, paid
from tests.infrastructure.store_tampering import (
    ALIASED_SUCCESS_TOPIC,
    StoreTamperer,
    forged_success,
)


def exported(
    ledger: PaymentLedger, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, object]]:
    out = io.StringIO()
    write_rows(export_rows(ledger, since, until), out, "jsonl")
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_round_trip_row_count_and_amounts(ledger: PaymentLedger) -> None:
    paid(ledger, "ord_a")
    expired(ledger, "ord_b")
    opened(ledger, "ord_c")

    rows = exported(ledger)

    assert len(rows) == ledger.last_notification_id()  # every stored event, once
    for order_id in ("ord_a", "ord_b", "ord_c"):
        payment = ledger.find(order_id)
        assert payment is not None
        ours = [r for r in rows if r["orderId"] == order_id]
        assert len(ours) == payment.version
        initiated = [r for r in ours if r["type"] == "Initiated"]
        assert [(r["amountMinor"], r["currency"]) for r in initiated] == [
            (payment.amount.minor, payment.amount.currency)
        ]
        assert Decimal(str(initiated[0]["amount"])) == payment.amount.to_major()
    payment_a = ledger.find("ord_a")
    assert payment_a is not None and payment_a.amount_received is not None
    received = payment_a.amount_received
    succeeded = [r for r in rows if r["type"] == "Succeeded"]
    assert [(r["orderId"], r["amountMinor"]) for r in succeeded] == [("ord_a", received.minor)]


def test_each_row_carries_the_status_after_its_event(ledger: PaymentLedger) -> None:
    paid(ledger, "ord_a")
    rows = exported(ledger)
    assert [(r["type"], r["statusAfter"]) for r in rows] == [
        ("Initiated", "INITIATED"), ("Succeeded", "SUCCESS"), ("OrderConfirmed", "SUCCESS"),
    ]
    assert rows[1]["stripeEventId"] == "evt_ord_a" and rows[1]["paymentIntent"] == "pi_ord_a"
    assert all(r["orderId"] == "ord_a" and r["sessionId"] == "cs_ord_a" for r in rows)
    assert rows[2]["chainHash"] == vars(list(ledger.history(payment_id_for("ord_a")))[2])[
        "chain_hash"
    ]


def test_a_time_window_selects_events(ledger: PaymentLedger) -> None:
    opened(ledger, "ord_old", at=START - timedelta(days=2))
    opened(ledger, "ord_new", at=START)
    rows = exported(ledger, since=START - timedelta(hours=1), until=START + timedelta(hours=1))
    assert [r["orderId"] for r in rows] == ["ord_new"]


def test_an_evicted_payment_is_reloaded_with_the_same_state(ledger: PaymentLedger) -> None:
    expired(ledger, "ord_b")
    paid(ledger, "ord_a")
    running = RunningPayments(ledger, size=1)
    tiny = [running.after(stored) for stored in stored_payment_events(ledger)]
    roomy = RunningPayments(ledger)
    full = [roomy.after(stored) for stored in stored_payment_events(ledger)]
    assert [p.status if p else None for p in tiny] == [p.status if p else None for p in full]


def test_csv_and_jsonl_hold_the_same_rows(ledger: PaymentLedger) -> None:
    paid(ledger, "ord_a")
    jsonl, csv_out = io.StringIO(), io.StringIO()
    assert write_rows(export_rows(ledger), jsonl, "jsonl") == 3
    assert write_rows(export_rows(ledger), csv_out, "csv") == 3
    assert len(csv_out.getvalue().splitlines()) == 4  # a header, then one line per event


def test_an_event_under_an_aliased_topic_is_exported_under_that_topic(
    ledger: PaymentLedger, store_url: str
) -> None:
    opened(ledger, "ord_a")
    state = forged_success(ledger, "ord_a", intact=True)
    StoreTamperer(store_url).insert(payment_id_for("ord_a"), 2, ALIASED_SUCCESS_TOPIC, state)

    rows = exported(ledger)

    assert len(rows) == ledger.last_notification_id() == 2
    assert [(r["version"], r["type"], r["statusAfter"]) for r in rows] == [
        (1, "Initiated", "INITIATED"),
        (2, ALIASED_SUCCESS_TOPIC, "UNREADABLE"),
    ]
