"""`payments reconcile [--dry-run]`: apply what missed Stripe webhooks would have.

Exit codes: 0 done (whether or not anything changed); 1 some lookups at Stripe
failed (what could be done was done; run again); 2 cannot start (settings).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

import msgspec

from interfaces.cli.startup import add_env_file_option

if TYPE_CHECKING:
    from application.reconcile import ReconcileSummary


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "reconcile",
        help="catch up on Stripe webhooks that never arrived (payments, refunds, disputes)",
    )
    parser.add_argument("--dry-run", action="store_true", help="report, record nothing")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_env_file_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so `payments --help` needs neither the adapters nor their clients.
    from interfaces.cli.startup import (  # noqa: PLC0415
        SETTINGS_INVALID,
        StartupFailed,
        load_settings,
        opening_store,
    )
    from interfaces.composition import bootstrap  # noqa: PLC0415

    try:
        settings = load_settings("reconcile", args.env_file)
        with opening_store("reconcile", settings, unavailable_code=SETTINGS_INVALID):
            graph = bootstrap(settings)
            reconcile = graph.reconcile
    except StartupFailed as failure:
        return failure.report()

    async def once() -> ReconcileSummary:
        try:
            return await reconcile(dry_run=args.dry_run)
        finally:
            for close in graph.closers:
                await close()
            graph.close_stores()

    summary = asyncio.run(once())
    print(msgspec.json.encode(summary).decode() if args.json else describe(summary))
    return 1 if summary.errors else 0


def describe(summary: ReconcileSummary) -> str:
    verb = "would apply" if summary.dry_run else "applied"
    lines = [
        f"{verb} {len(summary.changes)} missed events; checked {summary.open_checked} overdue "
        f"payments ({summary.still_open} still open at Stripe), "
        f"{summary.undelivered_seen} undelivered Stripe events, "
        f"{summary.refunds_checked} pending refunds and {summary.disputes_checked} open "
        "disputes read back"
    ]
    for change in summary.changes:
        about = f" {change.object_id}" if change.object_id else ""
        after = f" -> {change.status_after}" if change.status_after else ""
        lines.append(
            f"  order {change.order_id}: {change.event_type}{about} ({change.event_id}){after}"
        )
    lines.extend(f"  error: {error}" for error in summary.errors)
    return "\n".join(lines)
