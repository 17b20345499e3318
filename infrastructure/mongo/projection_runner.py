"""Runs the status projection in a background thread, for as long as the app runs."""

from __future__ import annotations

import logging
import threading

from eventsourcing.persistence import ApplicationRecorder, Subscription, Tracking
from pymongo.errors import PyMongoError

from application.ledger import PaymentLedger
from infrastructure.event_store.polling_subscription import (
    POLL_INTERVAL,
    PollingSubscription,
    subscribe,
)
from infrastructure.mongo.status_projection import PaymentStatusProjection

log = logging.getLogger(__name__)
FIRST_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 30.0
STOP_TIMEOUT = 10.0


class ProjectionRunner:
    """Follows the event store from the view's stored position and feeds the projection.

    When MongoDB or the event store fails, it logs, waits (capped exponential
    backoff) and resumes from the stored position; the version guard makes the
    events it sees again harmless. `start()`/`stop()` are for the app's lifespan.
    """

    def __init__(
        self,
        ledger: PaymentLedger,
        projection: PaymentStatusProjection,
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        self._ledger = ledger
        self._projection = projection
        self._poll_interval = poll_interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscription: Subscription[ApplicationRecorder] | None = None
        self._lock = threading.Lock()
        ledger.add_listener(self._wake)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("projection runner already started")
        self._ledger.add_listener(self._wake)
        self._thread = threading.Thread(target=self._run, name="status-projection", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Stops following and waits for the thread; the position is already stored.

        False if the thread is still running after `timeout` (a MongoDB or event store
        call that hangs): the caller must then leave open what the thread uses.
        """
        self._stopping.set()
        with self._lock:
            if self._subscription is not None:
                self._subscription.stop()
        if self._thread is not None:
            self._thread.join(timeout)
        self._ledger.remove_listener(self._wake)
        if self.is_running:
            log.error(
                "status projection did not stop in time; its connections are left open",
                extra={"timeoutSeconds": timeout, "alert": True},
            )
            return False
        return True

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, notification_id: int | None, timeout: float = 1.0) -> bool:
        """Whether the view reached `notification_id` within `timeout` (read-your-writes)."""
        try:
            self._projection.view.wait(self._ledger.name, notification_id, timeout=timeout)
        except (TimeoutError, PyMongoError):
            return False
        return True

    def _run(self) -> None:
        delay = FIRST_RETRY_DELAY
        while not self._stopping.is_set():
            try:
                self._follow()
                delay = FIRST_RETRY_DELAY
            except Exception:
                log.exception("status projection failed; resuming from its stored position")
                self._stopping.wait(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY)

    def _follow(self) -> None:
        # The guard relies on the unique index; creating it here, not at start-up,
        # lets the service start while MongoDB is still down.
        self._projection.view.ensure_indexes()
        position = self._projection.view.max_tracking_id(self._ledger.name)
        subscription = subscribe(self._ledger, gt=position, interval=self._poll_interval)
        with self._lock:
            if self._stopping.is_set():
                subscription.stop()
                return
            self._subscription = subscription
        with subscription:
            for notification in subscription:
                event = self._ledger.mapper.to_domain_event(notification)
                tracking = Tracking(self._ledger.name, notification.id)
                self._projection.process_event(event, tracking)
                if self._stopping.is_set():
                    return

    def _wake(self, notification_id: int) -> None:
        subscription = self._subscription
        if isinstance(subscription, PollingSubscription):
            subscription.wake(notification_id)
