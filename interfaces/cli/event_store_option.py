"""Opens the event store the audit commands read: `--store` or `EVENT_STORE_URL`.

Auditors run these commands on machines that hold no Stripe or JWT secrets, so
only the store's URL is read here, not the service's full settings.
"""

from __future__ import annotations

import argparse
import os

from application.ledger import PaymentLedger
from infrastructure.event_store import store as event_store
from infrastructure.event_store.store import (
    DEFAULT_EVENT_STORE_URL,
    missing_sqlite_file,
    redacted,
    store_error_line,
)


class StoreUnavailable(Exception):
    """The event store named cannot be opened (or would be created empty)."""


def add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        default=None,
        help="event store URL (default: EVENT_STORE_URL, else sqlite:///var/payments.db)",
    )


def open_ledger(args: argparse.Namespace) -> PaymentLedger:
    url = args.store or os.environ.get("EVENT_STORE_URL") or DEFAULT_EVENT_STORE_URL
    if missing_sqlite_file(url) is not None:
        # Opening a missing SQLite file would create an empty store that "verifies".
        raise StoreUnavailable(f"no event store at {redacted(url)}")
    try:
        return event_store.open_ledger(url)
    except Exception as error:  # any driver error means "cannot open"
        message = store_error_line(error, url)
        raise StoreUnavailable(f"cannot open event store {redacted(url)}: {message}") from error
