"""Puts every payment that gets an obligating event into the effects queue (a log consumer)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from uuid import UUID

from eventsourcing.persistence import Notification

from application.fulfilment import EVENTS_THAT_OWE_NOTHING
from application.ledger import PaymentLedger, topics_of
from infrastructure.effects.due_payments import DuePayments
from infrastructure.effects.v1_processor_state import v1_processor_state

log = logging.getLogger(__name__)


class EffectsQueueFeeder:
    """Makes a payment due whenever it records an event that may owe the outside world.

    The facts that workers record after their calls are skipped: the worker that
    recorded one still holds the payment's row and looks at it again before letting
    go, so feeding them would only make every payment due once more for nothing.
    """

    name = "effects-queue"

    def __init__(
        self,
        ledger: PaymentLedger,
        queue: DuePayments,
        on_fed: Callable[[], None] = lambda: None,
    ) -> None:
        self._queue = queue
        self._on_fed = on_fed
        self._read = 0
        self._skipped = frozenset(t for cls in EVENTS_THAT_OWE_NOTHING for t in topics_of(cls))
        self._adopt_v1_processor(ledger)

    def position(self) -> int:
        # A batch of skipped events moves only the position read in this process: reading
        # it again after a restart is harmless, and a transaction per fact would double
        # the store's writes per payment.
        return max(self._read, self._queue.position())

    def consume(self, notifications: Sequence[Notification]) -> None:
        payment_ids = [
            UUID(str(n.originator_id)) for n in notifications if n.topic not in self._skipped
        ]
        self._read = notifications[-1].id
        if payment_ids:
            self._queue.feed(payment_ids, notifications[-1].id)
            self._on_fed()

    def _adopt_v1_processor(self, ledger: PaymentLedger) -> None:
        """A store written before the queue existed: start where its processor stopped."""
        if self._queue.position() > 0:
            return
        position, parked = v1_processor_state(ledger)
        if position > 0:
            self._queue.feed(parked, position)
            log.info(
                "effects queue adopted the previous processor's position",
                extra={"position": position, "parked": len(parked)},
            )
