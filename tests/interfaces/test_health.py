"""`/health`, `/ready` and the OpenAPI document."""

from __future__ import annotations

from infrastructure.mongo.connection import MongoConnection
from infrastructure.readiness_probes import EventStoreProbe, MongoProbe, NotConfiguredProbe
from tests.interfaces.conftest import Api

NOTHING_LISTENS = "mongodb://127.0.0.1:9/?directConnection=true"  # the discard port

EVERY_ROUTE = {
    "/payments/create-session",
    "/create-session",
    "/payments/status/{orderId}",
    "/status/{orderId}",
    "/payments/history/{orderId}",
    "/history/{orderId}",
    "/payments/webhook",
    "/webhook",
    "/health",
    "/ready",
}


class DownProbe:
    name = "MongoDB"

    async def check(self) -> str:
        raise ConnectionError("no route to host")


class ConfiguredOutProbe:
    name = "MongoDB"

    async def check(self) -> str:
        return "not configured"


class StoreProbe:
    name = "event store"

    async def check(self) -> str:
        return "ok"


async def test_health_is_200(api: Api) -> None:
    response = await api.client.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_ready_when_every_dependency_answers(api: Api) -> None:
    api.graph.probes[:] = [StoreProbe(), ConfiguredOutProbe()]
    response = await api.client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"event store": "ok", "MongoDB": "not configured"}


async def test_not_ready_names_the_failing_dependency(api: Api) -> None:
    api.graph.probes[:] = [StoreProbe(), DownProbe()]
    response = await api.client.get("/ready")
    assert response.status_code == 503
    assert "MongoDB" in response.json()["error"]
    assert response.json()["checks"]["event store"] == "ok"
    assert "no route to host" not in response.text


async def test_openapi_lists_every_route(api: Api) -> None:
    response = await api.client.get("/schema/openapi.json")
    assert response.status_code == 200
    assert set(response.json()["paths"]) >= EVERY_ROUTE


async def test_unknown_route_is_a_json_404(api: Api) -> None:
    response = await api.client.get("/nowhere")
    assert response.status_code == 404
    assert set(response.json()) == {"error"}


async def test_not_ready_when_the_event_store_cannot_be_read(api: Api) -> None:
    api.graph.probes[:] = [EventStoreProbe(api.ledger), NotConfiguredProbe("MongoDB")]
    assert (await api.client.get("/ready")).status_code == 200
    api.ledger.close()
    response = await api.client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"event store": "unavailable", "MongoDB": "not configured"}
    assert "event store" in response.json()["error"]


async def test_ready_with_the_real_mongodb_probe_on_a_running_mongodb(
    api: Api, mongo_database_uri: str
) -> None:
    mongo = MongoConnection(mongo_database_uri)
    api.graph.probes[:] = [EventStoreProbe(api.ledger), MongoProbe(mongo.database)]
    try:
        response = await api.client.get("/ready")
    finally:
        mongo.close()
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"event store": "ok", "MongoDB": "ok"}


async def test_not_ready_with_the_real_mongodb_probe_when_nothing_listens(api: Api) -> None:
    # MongoProbe gives up after its short timeout (1.5 s).
    mongo = MongoConnection(NOTHING_LISTENS)
    api.graph.probes[:] = [EventStoreProbe(api.ledger), MongoProbe(mongo.database)]
    try:
        response = await api.client.get("/ready")
    finally:
        mongo.close()
    assert response.status_code == 503
    assert "MongoDB" in response.json()["error"]
    assert response.json()["checks"]["event store"] == "ok"
    assert response.json()["checks"]["MongoDB"] == "unavailable"
