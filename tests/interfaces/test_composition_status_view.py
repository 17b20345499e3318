"""With MONGODB_URI, the composition root reads statuses from MongoDB and keeps that view
current with a background worker that the app lifespan starts and stops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pymongo.database import Database

from application.identity import Caller
from infrastructure.mongo_status_view import MongoPaymentStatusView
from infrastructure.settings import Settings
from infrastructure.status_projection_worker import StatusProjectionWorker
from interfaces.composition import build_services
from tests.infrastructure.payment_story import PaymentStory

Document = dict[str, Any]


async def test_statuses_are_read_from_the_projected_mongodb_view(
    tmp_path: Path, mongo_database_uri: str, mongo_db: Database[Document]
) -> None:
    settings = Settings(
        jwt_secret="j" * 32,
        stripe_webhook_secret="whsec_test",
        event_store_url=f"sqlite:///{tmp_path / 'payments.db'}",
        mongodb_uri=mongo_database_uri,
    )
    services = build_services(settings)
    workers = [w for w in services.workers if isinstance(w, StatusProjectionWorker)]
    assert len(workers) == 1
    assert isinstance(services.status_view, MongoPaymentStatusView)
    for worker in services.workers:
        await worker.start()
    try:
        PaymentStory(services.ledger, "ord_wired").initiate().paid()
        assert workers[0].runner.wait(services.ledger.last_notification_id(), timeout=15)
        report = await services.get_payment_status(Caller("user_1"), "ord_wired")
    finally:
        for worker in reversed(services.workers):
            await worker.stop()
        for close in services.closers:
            await close()
        services.ledger.close()

    assert report.status == "SUCCESS"
    document = mongo_db.payments.find_one({"orderId": "ord_wired"})
    assert document is not None
    assert document["status"] == "SUCCESS"


async def test_without_mongodb_no_projection_runs(tmp_path: Path) -> None:
    settings = Settings(
        jwt_secret="j" * 32,
        stripe_webhook_secret="whsec_test",
        event_store_url=f"sqlite:///{tmp_path / 'payments.db'}",
    )
    services = build_services(settings)
    try:
        assert not any(isinstance(w, StatusProjectionWorker) for w in services.workers)
        assert not isinstance(services.status_view, MongoPaymentStatusView)
    finally:
        for close in services.closers:
            await close()
        services.ledger.close()
