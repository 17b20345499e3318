"""The payment status projection: Payment events → the MongoDB status view.

Each event is turned into the payment's whole state at that event's version
(the aggregate's own rules decide the status, never a second copy of them) and
written with a version guard; the position is tracked after the write. A batch's
writes hold the store's swap lock shared, so a rebuild never renames its collection
over `payments` while they are in flight (`infrastructure/mongo/swap_lock.py`).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import EventSourcingError
from eventsourcing.persistence import Notification, Tracking
from eventsourcing.projection import Projection

from application.ledger import PaymentLedger
from application.status import report_of
from domain.payment import Payment
from infrastructure.event_store.events_by_payment import events_of
from infrastructure.mongo.payment_document import PaymentDocument, document_of
from infrastructure.mongo.payment_view import MongoPaymentView
from infrastructure.mongo.swap_lock import ViewSwapLock, swap_lock_for

log = logging.getLogger(__name__)
CACHED_PAYMENTS = 1024


class PaymentStatusProjection(Projection[MongoPaymentView]):
    """Keeps one document per order at the latest version it has seen.

    The state after an event is the cached state before it plus that event (the
    same `mutate` the repository replays), or, when the cache does not hold the
    version just before it, the aggregate loaded from the ledger at that version.
    """

    name = "PaymentStatusProjection"

    def __init__(
        self, view: MongoPaymentView, ledger: PaymentLedger, swap_lock: ViewSwapLock | None = None
    ) -> None:
        super().__init__(view)
        self._ledger = ledger
        self._payments: OrderedDict[UUID, Payment] = OrderedDict()
        self.swap_lock = swap_lock or swap_lock_for(ledger)

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        payment: Payment | None = None
        if isinstance(domain_event, Payment.Event):
            payment = self._state_after(domain_event)
        with self.swap_lock.writing():
            if payment is not None:
                applied = self.view.save_payment(document_of(report_of(payment)))
                log.debug(
                    "status view %s",
                    "updated" if applied else "already current",
                    extra={"orderId": payment.order_id, "version": payment.version},
                )
            self.view.insert_tracking(tracking)

    def process_batch(self, batch: Sequence[tuple[Any, Tracking]]) -> None:
        """`process_event` for a run of events, with one document write per order.

        Within a batch only each order's last state matters (the guard would
        refuse the earlier ones anyway), so they are written in one bulk request
        and the position once, after it.
        """
        self._load_missing([event for event, _ in batch])
        latest: dict[str, PaymentDocument] = {}
        for domain_event, _ in batch:
            if isinstance(domain_event, Payment.Event):
                payment = self._state_after(domain_event)
                if payment is not None:
                    latest[payment.order_id] = document_of(report_of(payment))
        with self.swap_lock.writing():
            self.view.save_payments(list(latest.values()))
            if batch:
                self.view.insert_tracking(batch[-1][1])

    def _load_missing(self, events: Sequence[Any]) -> None:
        """Puts in the cache, with one query, every payment whose state before its first
        event in the batch it does not hold (a payment opened long ago and paid now):
        otherwise each of them would be loaded from the store on its own."""
        first: dict[UUID, int] = {}
        for event in events:
            if isinstance(event, Payment.Event):
                first.setdefault(event.originator_id, event.originator_version)
        wanted = {
            payment_id: version - 1
            for payment_id, version in first.items()
            if version > Payment.INITIAL_VERSION
            and getattr(self._payments.get(payment_id), "version", None) != version - 1
        }
        for notifications in events_of(self._ledger, wanted).values():
            payment = replayed(self._ledger, notifications) if notifications else None
            if payment is not None:
                self._remember(payment)

    def _state_after(self, event: Payment.Event) -> Payment | None:
        payment_id = event.originator_id
        version = event.originator_version
        cached = self._payments.pop(payment_id, None)
        payment: Payment | None
        if version == Payment.INITIAL_VERSION:
            payment = event.mutate(None)
        elif cached is not None and cached.version == version - 1:
            payment = event.mutate(cached)
        else:
            payment = self._ledger.load(payment_id, version=version)
        if payment is not None:
            self._remember(payment)
        return payment

    def _remember(self, payment: Payment) -> None:
        self._payments[payment.id] = payment
        while len(self._payments) > CACHED_PAYMENTS:
            self._payments.popitem(last=False)


def replayed(ledger: PaymentLedger, notifications: Sequence[Notification]) -> Payment | None:
    """The payment after the last of `notifications` (its events from the first, in version
    order) by the domain's own mutators; loaded the usual way if they do not replay (a gap)."""
    payment: Payment | None = None
    try:
        for notification in notifications:
            event = ledger.mapper.to_domain_event(notification)
            if isinstance(event, Payment.Event):
                payment = event.mutate(payment)
    except (EventSourcingError, AssertionError, AttributeError, TypeError):
        last = notifications[-1]
        payment_id = last.originator_id
        if not isinstance(payment_id, UUID):
            payment_id = UUID(str(payment_id))
        return ledger.load(payment_id, version=last.originator_version)
    return payment
