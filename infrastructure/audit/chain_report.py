"""What a walk of the hash chain found: the breaks, the heads, and how to say it."""

from __future__ import annotations

from enum import StrEnum

import msgspec

LISTED_BREAKS = 100


class BreakKind(StrEnum):
    ALTERED = "altered"
    MISSING = "missing"
    REORDERED = "reordered"
    REWRITTEN = "rewritten"
    INSERTED = "inserted"
    FOREIGN_TOPIC = "foreign-topic"


DESCRIPTIONS = {
    BreakKind.ALTERED: "event was altered (its content no longer matches its hash)",
    BreakKind.MISSING: "event is missing (removed, or stored out of order)",
    BreakKind.REORDERED: "event is stored out of order",
    BreakKind.REWRITTEN: "event was rewritten (the chain from it differs from what was recorded)",
    BreakKind.INSERTED: "event was inserted before the checkpoint",
    BreakKind.FOREIGN_TOPIC: "event is stored under a topic the service never writes (forged)",
}


class ChainBreak(msgspec.Struct, frozen=True, rename="camel"):
    """The first place where one payment's stored history stopped matching its chain."""

    payment_id: str
    order_id: str
    version: int
    kind: BreakKind
    detail: str = ""

    def sentence(self) -> str:
        said = f"order {self.order_id} (payment {self.payment_id}) version {self.version}: "
        said += DESCRIPTIONS[self.kind]
        return f"{said}; {self.detail}" if self.detail else said


class ChainHead(msgspec.Struct, frozen=True, rename="camel"):
    """The last event of a payment's chain: its version and hash."""

    payment_id: str
    version: int
    hash: str


class VerificationReport(msgspec.Struct, rename="camel"):
    """The outcome of `payments audit verify`; `breaks` lists at most LISTED_BREAKS."""

    ok: bool
    events: int
    payments: int
    last_notification_id: int
    broken_payments: int = 0
    first_break: ChainBreak | None = None
    breaks: list[ChainBreak] = msgspec.field(default_factory=list)
    checkpoint: str | None = None

    def sentence(self) -> str:
        if self.first_break is None:
            sealed = f", consistent with checkpoint {self.checkpoint}" if self.checkpoint else ""
            return (
                f"chain intact: {self.events} events of {self.payments} payments "
                f"up to notification {self.last_notification_id}{sealed}"
            )
        others = self.broken_payments - 1
        more = f" (and {others} more broken payments)" if others > 0 else ""
        return f"CHAIN BROKEN: {self.first_break.sentence()}{more}"
