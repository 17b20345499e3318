"""A subscription to the event store for recorders that cannot push (SQLite).

eventsourcing's SQLite recorder does not implement `subscribe()`; this one polls
`select_notifications` and can be woken early, by the service's own writes
(`PaymentLedger.add_listener`), so a status shows up without waiting a poll.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence

from eventsourcing.persistence import ApplicationRecorder, Notification, Subscription

from application.ledger import PaymentLedger

BATCH_SIZE = 500
POLL_INTERVAL = 1.0


class PollingSubscription(Subscription[ApplicationRecorder]):
    """Yields notifications after `gt` in order, blocking (polling) when there are none."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        gt: int | None = None,
        topics: Sequence[str] = (),
        interval: float = POLL_INTERVAL,
    ) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._interval = interval
        self._woken = threading.Event()
        self._buffer: deque[Notification] = deque()

    def wake(self, notification_id: int | None = None) -> None:
        """Something was written: look now instead of at the next poll."""
        self._woken.set()

    def stop(self) -> None:
        super().stop()
        self._woken.set()

    def __next__(self) -> Notification:
        while not self._buffer:
            if self._has_been_stopped:
                raise StopIteration
            # Clear before reading, so a write that lands after the read still wakes us.
            self._woken.clear()
            self._buffer.extend(self._select())
            if not self._buffer:
                self._woken.wait(self._interval)
        if self._has_been_stopped:
            raise StopIteration
        notification = self._buffer.popleft()
        self._last_notification_id = notification.id
        return notification

    def _select(self) -> Sequence[Notification]:
        return self._recorder.select_notifications(
            start=self._last_notification_id,
            limit=BATCH_SIZE,
            topics=self._topics,
            inclusive_of_start=False,
        )


def subscribe(
    ledger: PaymentLedger, gt: int | None, interval: float = POLL_INTERVAL
) -> Subscription[ApplicationRecorder]:
    """The recorder's own subscription (PostgreSQL LISTEN/NOTIFY), else a polling one.

    A polling subscription is woken by the ledger's saves; the caller wires that
    with `ledger.add_listener`, once, and forwards to the current subscription.
    """
    try:
        return ledger.recorder.subscribe(gt=gt)
    except NotImplementedError:
        return PollingSubscription(ledger.recorder, gt=gt, interval=interval)
