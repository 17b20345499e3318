"""Status projection throughput: rebuilding the MongoDB view from each event store.

Run: .venv/bin/python bench/status_projection.py [PAYMENTS]

Seeds PAYMENTS payments (default 1000; each initiated, paid and confirmed: three
events) into a SQLite file and a fresh PostgreSQL schema, then rebuilds the view
from each and prints events/s. Uses MONGODB_URI if set, else starts SecantusDB.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from pymongo import MongoClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from application.ledger import PaymentLedger
from infrastructure.event_store.store import event_store_env
from infrastructure.mongo.payment_view import MongoPaymentView
from infrastructure.mongo.projection_rebuild import rebuild
from infrastructure.mongo.status_projection import PaymentStatusProjection
from tests.fixtures.event_store import drop_postgres_schema, fresh_postgres_url
from tests.fixtures.mongo import start_secantus, stop_secantus
from tests.infrastructure.payment_story import PaymentStory


def seed(ledger: PaymentLedger, payments: int) -> None:
    for number in range(payments):
        story = PaymentStory(ledger, f"ord_bench_{number}").initiate()
        story.paid()
        story.order_confirmed()


def measure(label: str, store_url: str, mongodb_uri: str, payments: int) -> None:
    with PaymentLedger(event_store_env(store_url)) as ledger:
        seed(ledger, payments)
        with MongoClient(mongodb_uri, tz_aware=True) as client:
            view = MongoPaymentView(client[f"bench_{label}"])
            summary = rebuild(ledger, PaymentStatusProjection(view, ledger))
            client.drop_database(f"bench_{label}")
    print(
        f"{label:10} {summary.events:7} events  {summary.seconds:6.2f} s  "
        f"{summary.events_per_second:8,.0f} events/s"
    )


def main() -> None:
    payments = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        process = None
        mongodb_uri = os.environ.get("MONGODB_URI")
        if not mongodb_uri:
            mongodb_uri, process = start_secantus(Path(tmp) / "mongo")
        try:
            measure("sqlite", f"sqlite:///{tmp}/payments.db", mongodb_uri, payments)
            postgres_url = fresh_postgres_url()
            try:
                measure("postgres", postgres_url, mongodb_uri, payments)
            finally:
                drop_postgres_schema(postgres_url)
        finally:
            if process is not None:
                stop_secantus(process)


if __name__ == "__main__":
    main()
