"""Choosing the event store from EVENT_STORE_URL, and opening it from several processes at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from application.ledger import PaymentLedger
from infrastructure.event_store import (
    EventStoreUrlError,
    event_store_env,
    open_ledger,
    survive_concurrent_schema_creation,
)
from tests.fixtures.event_store import drop_postgres_schema, fresh_postgres_url


def test_sqlite_urls_read_like_sqlalchemys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert event_store_env("sqlite:///var/payments.db")["SQLITE_DBNAME"] == "var/payments.db"
    assert (tmp_path / "var").is_dir()  # created on first use
    absolute = event_store_env(f"sqlite:///{tmp_path}/abs.db")
    assert absolute["SQLITE_DBNAME"] == f"{tmp_path}/abs.db"


def test_postgres_urls_map_every_part():
    env = event_store_env("postgresql://pay:s%40cret@db.internal:6543/payments?schema=audit")
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"]) == ("db.internal", "6543")
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("pay", "s@cret")
    assert (env["POSTGRES_DBNAME"], env["POSTGRES_SCHEMA"]) == ("payments", "audit")


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite://", "postgresql://host", "payments.db"])
def test_unusable_urls_are_refused_with_the_url_named(url: str):
    with pytest.raises(EventStoreUrlError):
        event_store_env(url)


def race(opens: Callable[[], object], contenders: int = 8) -> list[BaseException]:
    barrier = threading.Barrier(contenders)
    errors: list[BaseException] = []

    def contend() -> None:
        barrier.wait()
        try:
            opened = opens()
            if isinstance(opened, PaymentLedger):
                opened.close()
        except Exception as error:  # the assertion below reports them
            errors.append(error)

    threads = [threading.Thread(target=contend) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.postgres
def test_replicas_starting_together_on_a_fresh_postgres_database_all_open_it():
    url = fresh_postgres_url()
    try:
        assert race(lambda: open_ledger(url)) == []
        ledger = open_ledger(url)
        tracking = ledger.factory.tracking_recorder
        assert race(lambda: survive_concurrent_schema_creation(tracking)) == []
        ledger.close()
    finally:
        drop_postgres_schema(url)
