"""The export gives one row per event of the store, with the running status after it.

Payments are replayed through a bounded cache; one evicted from it is reloaded with
the same state (memory use itself is not measured here).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from decimal import Decimal

from application.ledger import PaymentLedger
from domain.payment import payment_id_for
from infrastructure.audit.export import RunningPayments, export_rows, write_rows
from infrastructure.audit.stored_events import stored_payment_events
from tests.infrastructure.payment_histories import (
    START,
    dispute_lost,
    expired,
    late_and_stray_refunded,
    opened,
    paid,
    refund_failed,
)
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
        ("Initiated", "INITIATED"),
        ("Succeeded", "SUCCESS"),
        ("OrderConfirmed", "SUCCESS"),
    ]
    assert rows[1]["stripeEventId"] == "evt_ord_a" and rows[1]["paymentIntent"] == "pi_ord_a"
    assert all(r["orderId"] == "ord_a" and r["sessionId"] == "cs_ord_a" for r in rows)
    assert (
        rows[2]["chainHash"] == vars(list(ledger.history(payment_id_for("ord_a")))[2])["chain_hash"]
    )


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


def columns(rows: list[dict[str, object]], order_id: str, *names: str) -> list[tuple[object, ...]]:
    return [tuple(r[name] for name in names) for r in rows if r["orderId"] == order_id]


def test_a_partial_refund_that_fails_moves_the_refunded_and_refundable_amounts(
    ledger: PaymentLedger,
) -> None:
    refund_failed(ledger, "ord_r")

    rows = exported(ledger)

    assert columns(
        rows, "ord_r", "type", "statusAfter", "refundedAmount", "refundedAmountMinor",
        "refundable", "refundableMinor",
    ) == [
        ("Initiated", "INITIATED", "0.00", 0, "0.00", 0),
        ("Succeeded", "SUCCESS", "0.00", 0, "204.98", 20498),
        ("OrderConfirmed", "SUCCESS", "0.00", 0, "204.98", 20498),
        ("RefundOrdered", "PARTIALLY_REFUNDED", "50.00", 5000, "154.98", 15498),
        ("RefundReported", "PARTIALLY_REFUNDED", "50.00", 5000, "154.98", 15498),
        ("RefundReported", "SUCCESS", "0.00", 0, "204.98", 20498),  # failed: the money stayed
    ]  # fmt: skip
    assert columns(
        rows, "ord_r", "refundId", "stripeRefundId", "refundStatus", "refundAmount",
        "refundAmountMinor",
    ) == [
        ("", "", "", "", None),
        ("", "", "", "", None),
        ("", "", "", "", None),
        ("rf_ord_r", "", "pending", "50.00", 5000),
        ("rf_ord_r", "re_ord_r", "pending", "50.00", 5000),
        ("rf_ord_r", "re_ord_r", "failed", "50.00", 5000),
    ]  # fmt: skip


def test_a_dispute_opened_then_lost_moves_its_amounts(ledger: PaymentLedger) -> None:
    dispute_lost(ledger, "ord_d")

    rows = exported(ledger)

    assert columns(
        rows, "ord_d", "type", "statusAfter", "disputeId", "disputeStatus", "disputeAmount",
        "disputeAmountMinor", "disputeLostAmount", "disputeLostAmountMinor",
    ) == [
        ("Initiated", "INITIATED", "", "", "", None, "0.00", 0),
        ("Succeeded", "SUCCESS", "", "", "", None, "0.00", 0),
        ("OrderConfirmed", "SUCCESS", "", "", "", None, "0.00", 0),
        ("DisputeOpened", "SUCCESS", "dp_ord_d", "needs_response", "204.98", 20498, "0.00", 0),
        ("DisputeUpdated", "SUCCESS", "dp_ord_d", "under_review", "204.98", 20498, "0.00", 0),
        ("DisputeClosed", "REFUNDED", "dp_ord_d", "lost", "204.98", 20498, "204.98", 20498),
    ]  # fmt: skip
    # A lost dispute is money returned, like a refund.
    assert columns(rows, "ord_d", "refundedAmount", "refundable")[-2:] == [
        ("0.00", "204.98"), ("204.98", "0.00"),
    ]  # fmt: skip


def test_the_service_s_own_refunds_are_named_by_their_key_and_stripe_s_id(
    ledger: PaymentLedger,
) -> None:
    """A late payment's refund and a stray session's: the same refund's rows share one
    refundId, whichever id the event itself was recorded with."""
    late_and_stray_refunded(ledger, "ord_l")

    rows = exported(ledger)

    assert columns(
        rows, "ord_l", "type", "refundId", "stripeRefundId", "refundStatus", "refundedAmount",
    )[5:] == [
        ("RefundRequested", "", "", "", "0.00"),
        ("Refunded", "owed", "re_late_ord_l", "pending", "204.98"),
        ("RefundReported", "owed", "re_late_ord_l", "succeeded", "204.98"),
        ("StrayPaymentReceived", "", "", "", "204.98"),
        ("StrayPaymentRefunded", "stray:cs_stray_ord_l", "re_stray_ord_l", "succeeded", "204.98"),
    ]  # fmt: skip


def test_csv_holds_the_refund_and_dispute_columns_of_the_json_rows(ledger: PaymentLedger) -> None:
    refund_failed(ledger, "ord_r")
    dispute_lost(ledger, "ord_d")
    csv_out = io.StringIO()
    write_rows(export_rows(ledger), csv_out, "csv")

    from_csv = list(csv.DictReader(io.StringIO(csv_out.getvalue())))

    as_text = [{k: "" if v is None else str(v) for k, v in row.items()} for row in exported(ledger)]
    assert from_csv == as_text
    assert {"refundedAmount", "refundable", "refundStatus", "disputeLostAmount"} <= set(from_csv[0])
