"""Fills a store with payments fast: domain events written through the recorder in batches.

Each payment is made by the domain itself (`Payment.initiate`, `succeed`,
`record_order_confirmed`), so its hash chain verifies and every reader replays it;
only the HTTP and the one-transaction-per-event path are skipped. A batch of
payments is written as production interleaves them: all the batch's `Initiated`
events, then all its `Succeeded`, then all its `OrderConfirmed`.

Order ids and sessions follow bench/effects_throughput.py (`cs_<order>`, the
order of tests/fakes.py `an_order`, owner `user_1`), so its signed paid webhooks
(`paid_body`) settle the open ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from eventsourcing.persistence import StoredEvent, Tracking

from application.ledger import PaymentLedger
from application.open_payments import OpenPayment, OpenPayments
from application.unsettled_money_back import Reported, UnsettledMoneyBackPayments
from domain.payment import Payment
from infrastructure.effects.queue_for_store import due_payments_for
from infrastructure.event_store.index_rows_for_store import index_rows_for
from infrastructure.event_store.open_payments_index import FollowedOpenPayments
from infrastructure.event_store.unsettled_money_back_index import FollowedUnsettledMoneyBack
from tests.fakes import an_order

BATCH = 500
EMAIL = "buyer@example.com"


def initiated(order_id: str, now: datetime) -> Payment:
    return Payment.initiate(
        an_order(order_id),
        user_email=EMAIL,
        checkout_session_id=f"cs_{order_id}",
        checkout_url=f"https://checkout.example/cs_{order_id}",
        expires_at=now + timedelta(hours=6),
        at=now,
    )


def batch_events(order_ids: Sequence[str], *, settled: bool) -> list[StoredEvent]:
    """The stored events of `order_ids`, phase by phase; settled ones are paid and confirmed."""
    now = datetime.now(UTC)
    payments = [initiated(order_id, now) for order_id in order_ids]
    phases = [[event for p in payments for event in p.collect_events()]]
    if settled:
        for payment in payments:
            payment.succeed(f"evt_{payment.order_id}", "pi_seed", EMAIL, payment.amount)
        phases.append([event for p in payments for event in p.collect_events()])
        for payment in payments:
            payment.record_order_confirmed()
        phases.append([event for p in payments for event in p.collect_events()])
    return [event for phase in phases for event in phase]  # type: ignore[misc]


def seed(ledgers: Iterable[PaymentLedger], order_ids: Sequence[str], *, settled: bool) -> None:
    """Writes the payments of `order_ids` into every ledger, `BATCH` payments a transaction."""
    ledgers = list(ledgers)
    for start in range(0, len(order_ids), BATCH):
        events = batch_events(order_ids[start : start + BATCH], settled=settled)
        for ledger in ledgers:
            stored = [ledger.mapper.to_stored_event(event) for event in events]
            ledger.recorder.insert_events(stored)


def seed_settled(ledgers: Iterable[PaymentLedger], order_ids: Sequence[str]) -> None:
    """Seeds payments that are opened and closed at once, and moves the reconciliation's
    indexes past them: a service following the log all along would have opened and closed
    each one's row, leaving none (folding them here would cost the bench minutes at 100k)."""
    ledgers = list(ledgers)
    for ledger in ledgers:
        follow_reconciliation(ledger)  # what was recorded before them is folded as usual
    seed(ledgers, order_ids, settled=True)
    for ledger in ledgers:
        last = ledger.last_notification_id()
        index_rows_for(ledger, OpenPayments.name, OpenPayment).advance(last)
        index_rows_for(ledger, UnsettledMoneyBackPayments.name, Reported).advance(last)


def follow_reconciliation(ledger: PaymentLedger) -> None:
    FollowedOpenPayments(ledger).refresh()
    FollowedUnsettledMoneyBack(ledger).refresh()


def mark_followed(ledger: PaymentLedger) -> int:
    """Moves the effects feeder past everything stored, and brings the reconciliation's
    indexes up to it, as a service that has followed the log all along would have;
    returns the last notification id."""
    last = ledger.last_notification_id()
    due_payments_for(ledger).feed([], last)
    follow_reconciliation(ledger)
    return last


def mark_projected(ledger: PaymentLedger, mongodb_uri: str) -> None:
    """Moves the status projection's position to the end of the log, without documents
    (for a store whose view is not measured)."""
    from pymongo import MongoClient  # noqa: PLC0415

    from infrastructure.mongo.payment_document import DEFAULT_DATABASE  # noqa: PLC0415
    from infrastructure.mongo.payment_view import MongoPaymentView  # noqa: PLC0415

    with MongoClient[dict[str, object]](mongodb_uri) as client:
        view = MongoPaymentView(client.get_default_database(default=DEFAULT_DATABASE))  # type: ignore[arg-type]
        view.max_tracking_id(ledger.name)
        view.insert_tracking(Tracking(ledger.name, ledger.last_notification_id()))
