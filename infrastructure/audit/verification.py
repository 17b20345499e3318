"""Walks the whole store and checks every payment's hash chain.

The store is read one payment at a time (`events_by_payment`, a page at a time in
the order of the events table's key), and each payment's events are checked in the
order they were stored (notification order), so a verification holds one payment's
chain and the first `LISTED_BREAKS` breaks, whatever the size of the store. Only a
seal, which signs every head, keeps the heads (`keep_heads`).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable
from uuid import UUID

from application.ledger import PaymentLedger
from domain.audit_chain import GENESIS_HASH, digest_of
from infrastructure.audit.chain_report import (
    LISTED_BREAKS,
    BreakKind,
    ChainBreak,
    ChainHead,
    VerificationReport,
)
from infrastructure.audit.stored_events import StoredPaymentEvent, decoded, order_id_of
from infrastructure.event_store.events_by_payment import events_by_payment

Progress = Callable[[int], None]
"""Told how many events were read so far (about the notification id reached, as
notification ids count the events), so a CLI can draw a progress bar."""


class SealedHeads:
    """What a (signature-checked) checkpoint says the chain looked like."""

    def __init__(self, heads: Iterable[ChainHead], last_notification_id: int, name: str) -> None:
        self.heads = {UUID(head.payment_id): (head.version, head.hash) for head in heads}
        self.last_notification_id = last_notification_id
        self.name = name


Finding = tuple[UUID, int, BreakKind, str]
# Breaks are listed in the order they were stored: the notification id of the event where
# each was found (a sealed head gone missing sorts last), then the order they were found in.
_Ranked = tuple[float, int, Finding]


class ChainVerifier:
    """Fed each payment's stored events in notification order, then `end_payment`; remembers
    each payment's first break (the first `LISTED_BREAKS` of them in store order)."""

    def __init__(self, sealed: SealedHeads | None = None, *, keep_heads: bool = False) -> None:
        self.heads: dict[UUID, tuple[int, str]] = {}
        self.broken_payments = 0
        self.payments = 0
        self.events = 0
        self._sealed = sealed
        self._unseen_sealed = dict(sealed.heads) if sealed is not None else {}
        self._keep_heads = keep_heads
        self._ranked: list[_Ranked] = []  # a max-heap by rank (negated), LISTED_BREAKS long
        self._found_count = 0
        self._broken_now: set[UUID] = set()
        self._rank = math.inf

    @property
    def findings(self) -> list[Finding]:
        """The first `LISTED_BREAKS` breaks, in the order they were stored."""
        return [finding for _, _, finding in sorted((-r, -n, f) for r, n, f in self._ranked)]

    def feed_payment(self, events: Iterable[StoredPaymentEvent]) -> None:
        """All of one payment's stored events (any order): checked in notification order."""
        for stored in sorted(events, key=lambda stored: stored.notification_id):
            self.feed(stored)

    def end_payment(self, payment_id: UUID) -> None:
        """The payment's events are all in: compares it with the checkpoint, then forgets it."""
        self.payments += 1
        self._check_sealed_head(payment_id)
        if not self._keep_heads:
            self.heads.pop(payment_id, None)
        self._broken_now.discard(payment_id)

    def feed(self, stored: StoredPaymentEvent) -> None:
        self.events += 1
        self._rank = stored.notification_id
        payment_id, version = stored.payment_id, stored.version
        previous_version, previous_hash = self.heads.get(payment_id, (0, GENESIS_HASH))
        state = stored.state
        chain_hash = str(state.get("chain_hash", ""))
        self.heads[payment_id] = (max(version, previous_version), chain_hash)
        if version > previous_version + 1:
            self._found(
                payment_id,
                previous_version + 1,
                BreakKind.MISSING,
                f"version {version} follows version {previous_version}",
            )
        elif version <= previous_version:
            self._found(
                payment_id, version, BreakKind.REORDERED, f"stored after version {previous_version}"
            )
        elif stored.foreign_topic:
            self._found(payment_id, version, BreakKind.FOREIGN_TOPIC, f"topic {stored.topic}")
        elif stored.event is None:
            self._found(payment_id, version, BreakKind.ALTERED, stored.error)
        elif digest_of(stored.event, stored.recorded_as) != chain_hash:
            self._found(payment_id, version, BreakKind.ALTERED, "")
        elif state.get("previous_hash") != previous_hash:
            # This event is intact, so its predecessor's hash changed: it was rewritten.
            self._found(
                payment_id,
                version - 1,
                BreakKind.REWRITTEN,
                f"version {version} no longer links to it",
            )
        self._compare_with_seal(stored, chain_hash)

    def _compare_with_seal(self, stored: StoredPaymentEvent, chain_hash: str) -> None:
        if self._sealed is None:
            return
        sealed = self._sealed.heads.get(stored.payment_id)
        if sealed is not None and stored.version == sealed[0] and chain_hash != sealed[1]:
            self._found(
                stored.payment_id,
                stored.version,
                BreakKind.REWRITTEN,
                f"its hash differs from checkpoint {self._sealed.name}",
            )
        elif stored.notification_id <= self._sealed.last_notification_id and (
            sealed is None or stored.version > sealed[0]
        ):
            self._found(
                stored.payment_id,
                stored.version,
                BreakKind.INSERTED,
                f"checkpoint {self._sealed.name} does not have it",
            )

    def finish(self) -> None:
        """Checks that every sealed head is still there: catches a truncated chain."""
        for payment_id in list(self._unseen_sealed):
            self._check_sealed_head(payment_id)

    def _check_sealed_head(self, payment_id: UUID) -> None:
        sealed = self._unseen_sealed.pop(payment_id, None)
        if sealed is None or self._sealed is None:
            return
        version = sealed[0]
        seen = self.heads.get(payment_id, (0, ""))[0]
        if seen < version:
            self._rank = math.inf
            self._found(
                payment_id,
                seen + 1,
                BreakKind.MISSING,
                f"checkpoint {self._sealed.name} has up to version {version}",
            )

    def _found(self, payment_id: UUID, version: int, kind: BreakKind, detail: str) -> None:
        if payment_id in self._broken_now:
            return
        self._broken_now.add(payment_id)
        self.broken_payments += 1
        self._found_count += 1
        ranked = (-self._rank, -self._found_count, (payment_id, version, kind, detail))
        if len(self._ranked) < LISTED_BREAKS:
            heapq.heappush(self._ranked, ranked)
        else:
            heapq.heappushpop(self._ranked, ranked)


def verify_store(
    ledger: PaymentLedger,
    sealed: SealedHeads | None = None,
    stop: int | None = None,
    progress: Progress | None = None,
    *,
    keep_heads: bool = False,
) -> tuple[VerificationReport, ChainVerifier]:
    """Verifies every event up to notification `stop` (default: the last one)."""
    last = stop if stop is not None else ledger.last_notification_id()
    verifier = ChainVerifier(sealed, keep_heads=keep_heads)
    for notifications in events_by_payment(ledger, stop=last):
        verifier.feed_payment(decoded(ledger, notification) for notification in notifications)
        verifier.end_payment(verifier_id(notifications[0].originator_id))
        if progress is not None:
            progress(verifier.events)
    verifier.finish()
    return _report(ledger, verifier, last, sealed), verifier


def verifier_id(originator_id: object) -> UUID:
    return originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))


def _report(
    ledger: PaymentLedger, verifier: ChainVerifier, last: int, sealed: SealedHeads | None
) -> VerificationReport:
    breaks = [
        ChainBreak(str(payment_id), order_id_of(ledger, payment_id), version, kind, detail)
        for payment_id, version, kind, detail in verifier.findings
    ]
    return VerificationReport(
        ok=not breaks,
        events=verifier.events,
        payments=verifier.payments,
        last_notification_id=last,
        broken_payments=verifier.broken_payments,
        first_break=breaks[0] if breaks else None,
        breaks=breaks,
        checkpoint=sealed.name if sealed is not None else None,
    )
