"""`payments projections rebuild`: rebuild the MongoDB status view from the event store.

Only the two URLs it needs are read (`--store`/`EVENT_STORE_URL`,
`--mongodb-uri`/`MONGODB_URI`), so it runs on a machine without the service's
Stripe or JWT secrets. Safe while the service runs: the view is rebuilt into a
fresh collection and swapped in with one atomic rename, and the live projection
then goes on from the rebuilt view's position (ADR 0011).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any
from urllib.parse import urlsplit

from eventsourcing.persistence import PersistenceError
from pymongo import MongoClient
from pymongo.errors import PyMongoError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from infrastructure.event_store.store import (
    DEFAULT_EVENT_STORE_URL,
    EventStoreUrlError,
    missing_sqlite_file,
    open_ledger,
    store_error_line,
)
from infrastructure.mongo.payment_document import DEFAULT_DATABASE, PaymentDocument
from infrastructure.mongo.payment_view import MongoPaymentView
from infrastructure.mongo.projection_rebuild import ProjectionSummary, rebuild
from infrastructure.mongo.status_projection import PaymentStatusProjection

DEFAULT_MONGODB_URI = f"mongodb://localhost:27017/{DEFAULT_DATABASE}"
SERVER_TIMEOUT_MS = 5000


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("projections", help="manage the MongoDB status view")
    actions = parser.add_subparsers(dest="action", required=True)
    rebuild_parser = actions.add_parser(
        "rebuild",
        help="rebuild the status view from the event store beside the live one, then swap it in",
    )
    rebuild_parser.add_argument("--store", help="event store URL (default: EVENT_STORE_URL)")
    rebuild_parser.add_argument("--mongodb-uri", help="MongoDB URI (default: MONGODB_URI)")
    rebuild_parser.set_defaults(run=run_rebuild)


def run_rebuild(args: argparse.Namespace) -> int:
    store_url = args.store or os.environ.get("EVENT_STORE_URL") or DEFAULT_EVENT_STORE_URL
    mongodb_uri = args.mongodb_uri or os.environ.get("MONGODB_URI") or DEFAULT_MONGODB_URI
    console = Console()
    try:
        summary = _rebuild(store_url, mongodb_uri, console)
    except (EventStoreUrlError, PersistenceError) as error:
        line = store_error_line(error, store_url)  # never print a password
        print(f"payments projections rebuild: event store: {line}", file=sys.stderr)
        return 1
    except PyMongoError as error:
        where = urlsplit(mongodb_uri).netloc.rpartition("@")[2]  # never print a password
        message = f"cannot use MongoDB at {where} ({type(error).__name__})"
        print(f"payments projections rebuild: {message}", file=sys.stderr)
        return 1
    console.print(
        f"rebuilt the status view: {summary.events} events, "
        f"{summary.documents_written} document writes in {summary.seconds:.2f} s "
        f"({summary.events_per_second:,.0f} events/s)"
    )
    return 0


def _existing_store(url: str) -> str:
    """Refuses a SQLite path with no file: it would open an empty store and wipe the view."""
    missing = missing_sqlite_file(url)
    if missing is not None:
        raise EventStoreUrlError(f"no event store file at {missing}")
    return url


def _rebuild(store_url: str, mongodb_uri: str, console: Console) -> ProjectionSummary:
    client: MongoClient[PaymentDocument] = MongoClient(
        mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=SERVER_TIMEOUT_MS
    )
    try:
        client.admin.command("ping")
        view = MongoPaymentView(client.get_default_database(default=DEFAULT_DATABASE))
        with open_ledger(_existing_store(store_url)) as ledger:
            projection = PaymentStatusProjection(view, ledger)
            with _progress_bar(console) as bar:
                task = bar.add_task("rebuilding", total=max(ledger.last_notification_id(), 1))
                return rebuild(
                    ledger, projection, lambda reached: bar.update(task, completed=reached)
                )
    finally:
        client.close()


def _progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
