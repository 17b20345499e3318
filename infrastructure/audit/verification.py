"""Walks the whole store and checks every payment's hash chain.

Per payment it keeps only the chain head (version and hash), so memory grows
with the number of payments (about 200 bytes each), never with the number of
events; events are read a page at a time in notification order.
"""

from __future__ import annotations

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
from infrastructure.audit.stored_events import (
    StoredPaymentEvent,
    order_id_of,
    stored_payment_events,
)

Progress = Callable[[int], None]
"""Told the notification id reached, so a CLI can draw a progress bar."""


class SealedHeads:
    """What a (signature-checked) checkpoint says the chain looked like."""

    def __init__(self, heads: Iterable[ChainHead], last_notification_id: int, name: str) -> None:
        self.heads = {UUID(head.payment_id): (head.version, head.hash) for head in heads}
        self.last_notification_id = last_notification_id
        self.name = name


Finding = tuple[UUID, int, BreakKind, str]


class ChainVerifier:
    """Feeds on stored events in notification order; remembers each payment's first break."""

    def __init__(self, sealed: SealedHeads | None = None) -> None:
        self.heads: dict[UUID, tuple[int, str]] = {}
        self.findings: list[Finding] = []
        self.broken: set[UUID] = set()
        self.events = 0
        self._sealed = sealed

    def feed(self, stored: StoredPaymentEvent) -> None:
        self.events += 1
        payment_id, version = stored.payment_id, stored.version
        previous_version, previous_hash = self.heads.get(payment_id, (0, GENESIS_HASH))
        state = stored.state
        chain_hash = str(state.get("chain_hash", ""))
        self.heads[payment_id] = (max(version, previous_version), chain_hash)
        if version > previous_version + 1:
            self._found(payment_id, previous_version + 1, BreakKind.MISSING,
                        f"version {version} follows version {previous_version}")
        elif version <= previous_version:
            self._found(payment_id, version, BreakKind.REORDERED,
                        f"stored after version {previous_version}")
        elif stored.foreign_topic:
            self._found(payment_id, version, BreakKind.FOREIGN_TOPIC, f"topic {stored.topic}")
        elif stored.event is None:
            self._found(payment_id, version, BreakKind.ALTERED, stored.error)
        elif digest_of(stored.event, stored.recorded_as) != chain_hash:
            self._found(payment_id, version, BreakKind.ALTERED, "")
        elif state.get("previous_hash") != previous_hash:
            # This event is intact, so its predecessor's hash changed: it was rewritten.
            self._found(payment_id, version - 1, BreakKind.REWRITTEN,
                        f"version {version} no longer links to it")
        self._compare_with_seal(stored, chain_hash)

    def _compare_with_seal(self, stored: StoredPaymentEvent, chain_hash: str) -> None:
        if self._sealed is None:
            return
        sealed = self._sealed.heads.get(stored.payment_id)
        if sealed is not None and stored.version == sealed[0] and chain_hash != sealed[1]:
            self._found(stored.payment_id, stored.version, BreakKind.REWRITTEN,
                        f"its hash differs from checkpoint {self._sealed.name}")
        elif stored.notification_id <= self._sealed.last_notification_id and (
            sealed is None or stored.version > sealed[0]
        ):
            self._found(stored.payment_id, stored.version, BreakKind.INSERTED,
                        f"checkpoint {self._sealed.name} does not have it")

    def finish(self) -> None:
        """Checks that every sealed head is still there: catches a truncated chain."""
        if self._sealed is None:
            return
        for payment_id, (version, _) in self._sealed.heads.items():
            seen = self.heads.get(payment_id, (0, ""))[0]
            if seen < version:
                self._found(payment_id, seen + 1, BreakKind.MISSING,
                            f"checkpoint {self._sealed.name} has up to version {version}")

    def _found(self, payment_id: UUID, version: int, kind: BreakKind, detail: str) -> None:
        if payment_id in self.broken:
            return
        self.broken.add(payment_id)
        self.findings.append((payment_id, version, kind, detail))


def verify_store(
    ledger: PaymentLedger,
    sealed: SealedHeads | None = None,
    stop: int | None = None,
    progress: Progress | None = None,
) -> tuple[VerificationReport, ChainVerifier]:
    """Verifies every event up to notification `stop` (default: the last one)."""
    last = stop if stop is not None else ledger.last_notification_id()
    verifier = ChainVerifier(sealed)
    for stored in stored_payment_events(ledger, stop=last):
        verifier.feed(stored)
        if progress is not None:
            progress(stored.notification_id)
    verifier.finish()
    return _report(ledger, verifier, last, sealed), verifier


def _report(
    ledger: PaymentLedger, verifier: ChainVerifier, last: int, sealed: SealedHeads | None
) -> VerificationReport:
    breaks = [
        ChainBreak(str(payment_id), order_id_of(ledger, payment_id), version, kind, detail)
        for payment_id, version, kind, detail in verifier.findings[:LISTED_BREAKS]
    ]
    return VerificationReport(
        ok=not breaks,
        events=verifier.events,
        payments=len(verifier.heads),
        last_notification_id=last,
        broken_payments=len(verifier.broken),
        first_break=breaks[0] if breaks else None,
        breaks=breaks,
        checkpoint=sealed.name if sealed is not None else None,
    )
