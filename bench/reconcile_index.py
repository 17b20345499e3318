"""What a process start costs the reconciliation's indexes, at growing store sizes (issue 15).

Run: .venv/bin/python bench/reconcile_index.py [--sizes 10000,100000] [--stores sqlite,postgres]

Seeds a fresh store (a SQLite file, or a fresh schema of PostgreSQL's `test` database
on 127.0.0.1:5432) with paid payments and 1% open ones, through the recorder in
batches (bench/seed_payments.py), and times, in CPU seconds of this process
(`time.process_time`: on SQLite the database's own work is in it, on PostgreSQL the
server's is not), the first `refresh()` of a fresh index of open payments, and of
payments with money going back unsettled:

- before: the rows in memory, read from notification 0 (as before issue 15);
- upgrade: the first persisted index on a store without its tables (filled from 0, once);
- after: a new persisted index, as after a restart, with its position stored and
  `--new` payments opened since (the notifications a restart has to read).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from effects_throughput import fresh_store
from seed_payments import seed

from application.index_rows import InMemoryIndexRows
from application.ledger import PaymentLedger
from infrastructure.event_store.open_payments_index import FollowedOpenPayments
from infrastructure.event_store.store import open_ledger
from infrastructure.event_store.unsettled_money_back_index import FollowedUnsettledMoneyBack

INDEXES: dict[str, Callable[[PaymentLedger, bool], Any]] = {
    "open payments": lambda ledger, stored: FollowedOpenPayments(
        ledger, None if stored else InMemoryIndexRows()
    ),
    "unsettled money back": lambda ledger, stored: FollowedUnsettledMoneyBack(
        ledger, None if stored else InMemoryIndexRows()
    ),
}


def cpu_of(action: Callable[[], object]) -> tuple[float, int]:
    started = time.process_time()
    result = action()
    return time.process_time() - started, len(result)  # type: ignore[arg-type]


def measure(kind: str, size: int, new: int) -> list[tuple[str, str, float, int]]:
    """(index, phase, CPU seconds, rows answered) at one size."""
    figures: list[tuple[str, str, float, int]] = []
    with tempfile.TemporaryDirectory() as workdir, fresh_store(kind, Path(workdir)) as url:
        ledger = open_ledger(url)
        try:
            started = time.perf_counter()
            opened = size // 100
            seed([ledger], [f"s{n:07d}" for n in range(size - opened)], settled=True)
            seed([ledger], [f"o{n:07d}" for n in range(opened)], settled=False)
            print(f"{kind} {size:,}: seeded in {time.perf_counter() - started:.0f} s", flush=True)
            for name, index in INDEXES.items():
                for phase, stored in (("before (in memory, from 0)", False),
                                      ("upgrade (tables filled once)", True)):  # fmt: skip
                    cpu, rows = cpu_of(index(ledger, stored).refresh)
                    figures.append((name, phase, cpu, rows))
            seed([ledger], [f"n{n:07d}" for n in range(new)], settled=False)
            for name, index in INDEXES.items():
                cpu, rows = cpu_of(index(ledger, True).refresh)
                figures.append((name, f"after (stored, {new} new)", cpu, rows))
        finally:
            ledger.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--stores", default="sqlite")
    parser.add_argument("--new", type=int, default=100, help="payments opened after the fill")
    options = parser.parse_args()
    rows: list[str] = []
    for kind in options.stores.split(","):
        for size in map(int, options.sizes.split(",")):
            for name, phase, cpu, answered in measure(kind, size, options.new):
                rows.append(f"{kind:8} {size:>9,} {name:22} {phase:30} {cpu:8.3f} s {answered:>6,}")
    print(
        f"{'store':8} {'payments':>9} {'index':22} {'first refresh()':30} {'CPU':>10} {'rows':>6}"
    )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
