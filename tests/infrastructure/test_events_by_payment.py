"""`events_by_payment` reads the store a payment at a time, a page at a time, on both stores."""

from __future__ import annotations

from application.ledger import PaymentLedger
from domain.payment import payment_id_for
from infrastructure.event_store.events_by_payment import events_by_payment, events_of
from tests.infrastructure.payment_histories import expired, opened, paid


def test_each_payment_comes_whole_in_version_order_with_its_notification_ids(
    ledger: PaymentLedger,
) -> None:
    paid(ledger, "ord_a")
    expired(ledger, "ord_b")
    opened(ledger, "ord_c")
    by_notification = {n.id: n for n in ledger.recorder.select_notifications(1, 100)}

    payments = list(events_by_payment(ledger, page_size=2))

    ids = [payment[0].originator_id for payment in payments]
    assert sorted(map(str, ids)) == sorted(
        str(payment_id_for(o)) for o in ("ord_a", "ord_b", "ord_c")
    )
    assert [str(i) for i in ids] == sorted(str(i) for i in ids)  # in the order of their ids
    assert sorted(len(payment) for payment in payments) == [1, 3, 5]
    for payment in payments:
        assert [n.originator_version for n in payment] == list(range(1, len(payment) + 1))
        assert {n.originator_id for n in payment} == {payment[0].originator_id}
        for notification in payment:
            stored = by_notification[notification.id]
            assert (stored.originator_version, stored.topic, stored.state) == (
                notification.originator_version,
                notification.topic,
                notification.state,
            )


def test_stop_leaves_out_later_notifications(ledger: PaymentLedger) -> None:
    paid(ledger, "ord_a")
    stop = ledger.last_notification_id()
    paid(ledger, "ord_b")
    opened(ledger, "ord_c")

    payments = list(events_by_payment(ledger, stop=stop))

    assert [len(payment) for payment in payments] == [3]
    assert payments[0][0].originator_id == payment_id_for("ord_a")


def test_an_empty_store_has_no_payments(ledger: PaymentLedger) -> None:
    assert list(events_by_payment(ledger)) == []


def test_events_of_several_payments_in_one_query_up_to_a_version(ledger: PaymentLedger) -> None:
    paid(ledger, "ord_a")
    expired(ledger, "ord_b")
    a, b, c = (payment_id_for(o) for o in ("ord_a", "ord_b", "ord_c"))

    found = events_of(ledger, {a: 2, b: 5, c: 3})

    assert [n.originator_version for n in found[a]] == [1, 2]
    assert [n.originator_version for n in found[b]] == [1, 2, 3, 4, 5]
    assert found[c] == []
    assert events_of(ledger, {}) == {}
