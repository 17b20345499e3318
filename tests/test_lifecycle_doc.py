"""docs/payment-lifecycle.md names every status a payment can reach and every status of a
refund, and no other: a status added to the code without a row there fails here."""

from __future__ import annotations

import re
from pathlib import Path

from domain.lifecycle import PaymentStatus
from domain.refund import RefundStatus

DOC = Path(__file__).resolve().parent.parent / "docs" / "payment-lifecycle.md"


def tables() -> list[list[list[str]]]:
    """Each markdown table of the doc: its rows (header and separator left out) as cells."""
    found: list[list[list[str]]] = []
    for block in re.split(r"\n(?!\|)", DOC.read_text(encoding="utf-8")):
        rows = [line.strip("|").split(" | ") for line in block.splitlines() if line[:1] == "|"]
        if len(rows) > 2:
            found.append(rows[2:])
    return found


def quoted(cell: str) -> set[str]:
    return set(re.findall(r"`([A-Za-z_]+)`", cell))


def test_the_transition_table_reaches_every_payment_status() -> None:
    transitions = tables()[0]

    reached = {status for row in transitions for status in quoted(row[2])}
    assert reached == {status.value for status in PaymentStatus}


def test_the_refund_table_names_every_refund_status() -> None:
    refunds = tables()[1]

    named = {status for row in refunds for status in quoted(row[0])}
    assert named == {status.value for status in RefundStatus}
