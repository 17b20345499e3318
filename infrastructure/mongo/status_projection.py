"""The payment status projection: Payment events → the MongoDB status view.

Each event is turned into the payment's whole state at that event's version
(the aggregate's own rules decide the status, never a second copy of them) and
written with a version guard; the position is tracked after the write.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from application.ledger import PaymentLedger
from application.status import report_of
from domain.payment import Payment
from infrastructure.mongo.payment_document import PaymentDocument, document_of
from infrastructure.mongo.payment_view import MongoPaymentView

log = logging.getLogger(__name__)
CACHED_PAYMENTS = 1024


class PaymentStatusProjection(Projection[MongoPaymentView]):
    """Keeps one document per order at the latest version it has seen.

    The state after an event is the cached state before it plus that event (the
    same `mutate` the repository replays), or, when the cache does not hold the
    version just before it, the aggregate loaded from the ledger at that version.
    """

    name = "PaymentStatusProjection"

    def __init__(self, view: MongoPaymentView, ledger: PaymentLedger) -> None:
        super().__init__(view)
        self._ledger = ledger
        self._payments: OrderedDict[UUID, Payment] = OrderedDict()

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        if isinstance(domain_event, Payment.Event):
            payment = self._state_after(domain_event)
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
        latest: dict[str, PaymentDocument] = {}
        for domain_event, _ in batch:
            if isinstance(domain_event, Payment.Event):
                payment = self._state_after(domain_event)
                if payment is not None:
                    latest[payment.order_id] = document_of(report_of(payment))
        self.view.save_payments(list(latest.values()))
        if batch:
            self.view.insert_tracking(batch[-1][1])

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
