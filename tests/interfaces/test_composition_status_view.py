"""With MONGODB_URI, the composition root reads statuses from MongoDB and keeps that view
current with a background worker that the app lifespan starts and stops, all through one
MongoDB client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from pymongo import AsyncMongoClient, MongoClient
from pymongo.database import Database

from infrastructure.effects.leader_only import LeaderOnly
from infrastructure.mongo.projection_worker import StatusProjectionWorker
from infrastructure.mongo.status_view import MongoPaymentStatusView
from infrastructure.settings import Settings
from interfaces.app import create_app
from interfaces.composition import bootstrap
from tests.infrastructure.mongo_view_position import view_reaches
from tests.infrastructure.payment_story import PaymentStory
from tests.interfaces.conftest import as_user

Document = dict[str, Any]


async def test_statuses_are_read_from_the_projected_mongodb_view(
    tmp_path: Path,
    mongo_database_uri: str,
    mongo_db: Database[Document],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings(
        jwt_secret="j" * 32,
        stripe_webhook_secret="whsec_test",
        event_store_url=f"sqlite:///{tmp_path / 'payments.db'}",
        mongodb_uri=mongo_database_uri,
    )
    clients: list[str] = []
    for kind in (MongoClient, AsyncMongoClient):
        counted = kind.__init__

        def counting(self: Any, *args: Any, _original: Any = counted, **kwargs: Any) -> None:
            clients.append(type(self).__name__)
            _original(self, *args, **kwargs)

        monkeypatch.setattr(kind, "__init__", counting)
    graph = bootstrap(settings)
    workers = [w for w in graph.workers if isinstance(w, LeaderOnly)]
    assert [w.name for w in workers] == ["status projection"]
    assert isinstance(graph.status_view, MongoPaymentStatusView)
    projection = workers[0]
    assert not projection.still_running()

    # The app's own lifespan starts the worker on entry (this process takes the projection's
    # lock, nobody else holds it) and stops it on exit.
    async with AsyncTestClient(create_app(graph)) as client:
        assert isinstance(projection.running, StatusProjectionWorker)
        assert projection.still_running()
        PaymentStory(graph.ledger, "ord_wired").initiate().paid()
        ledger = graph.ledger
        assert await view_reaches(mongo_db, ledger, ledger.last_notification_id())
        response = await client.get(
            "/payments/status/ord_wired", headers=as_user("user_1", secret=settings.jwt_secret)
        )

    assert not projection.still_running()
    # The status reads, the projection, `/ready` and the metrics readings share one client.
    assert clients == ["MongoClient"]
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "SUCCESS"
    document = mongo_db.payments.find_one({"orderId": "ord_wired"})
    assert document is not None
    assert document["status"] == "SUCCESS"


async def test_without_mongodb_no_projection_runs(tmp_path: Path) -> None:
    settings = Settings(
        jwt_secret="j" * 32,
        stripe_webhook_secret="whsec_test",
        event_store_url=f"sqlite:///{tmp_path / 'payments.db'}",
    )
    graph = bootstrap(settings)
    try:
        assert not any(isinstance(w, LeaderOnly) for w in graph.workers)
        assert not isinstance(graph.status_view, MongoPaymentStatusView)
    finally:
        for close in graph.closers:
            await close()
        graph.close_stores()
