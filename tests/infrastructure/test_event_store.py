"""Choosing the event store from EVENT_STORE_URL, and opening it from several processes at once."""

from __future__ import annotations

import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from eventsourcing.persistence import PersistenceError
from eventsourcing.utils import Environment
from psycopg.conninfo import conninfo_to_dict

from application.ledger import PaymentLedger
from infrastructure.effects.reconcile_lock import PostgresAdvisoryLeadership
from infrastructure.event_store.store import (
    EventStoreUrlError,
    event_store_env,
    open_ledger,
    redacted,
    store_error_line,
    survive_concurrent_schema_creation,
)
from tests.fixtures.event_store import drop_postgres_schema, fresh_postgres_url


def test_sqlite_urls_read_like_sqlalchemys(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert event_store_env("sqlite:///var/payments.db")["SQLITE_DBNAME"] == "var/payments.db"
    assert (tmp_path / "var").is_dir()  # created on first use
    absolute = event_store_env(f"sqlite:///{tmp_path}/abs.db")
    assert absolute["SQLITE_DBNAME"] == f"{tmp_path}/abs.db"


def test_postgres_urls_map_every_part() -> None:
    env = event_store_env("postgresql://pay:s%40cret@db.internal:6543/payments?schema=audit")
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"]) == ("db.internal", "6543")
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("pay", "s@cret")
    assert (env["POSTGRES_DBNAME"], env["POSTGRES_SCHEMA"]) == ("payments", "audit")


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("postgresql://pay@db/payments?sslmode=verify-full", "sslmode"),
        ("postgresql://pay@db/payments?schema=audit&sslrootcert=/ca.pem&sslmode=require", "ssl"),
        ("postgres://pay@db/payments?connect_timeout=3", "connect_timeout"),
        ("sqlite:///var/payments.db?mode=ro", "mode"),
        ("postgresql://pay@db/payments?schema=a&schema=b", "schema"),
        ("postgresql://pay@db/payments?schema=", "schema"),
    ],
)
def test_query_parameters_it_cannot_apply_are_refused_not_dropped(url: str, named: str) -> None:
    with pytest.raises(EventStoreUrlError) as refused:
        event_store_env(url)
    message = str(refused.value)
    assert named in message and "EVENT_STORE_URL" in message and "\n" not in message


def test_the_reconciliation_lock_connects_where_the_store_does() -> None:
    url = "postgresql://pay:s%40cret@db.internal:6543/payments?schema=audit"
    # The ledger's env is an eventsourcing Environment: a name-prefixed variable of the
    # process environment overrides the URL's value, for the store and so for the lock.
    env = Environment("PaymentLedger", event_store_env(url))
    env["PAYMENTLEDGER_POSTGRES_HOST"] = "replica.internal"
    lock = conninfo_to_dict(PostgresAdvisoryLeadership(env)._conninfo)
    factory_reads = {
        name: env.get(f"POSTGRES_{name.upper()}") for name in ("host", "port", "dbname", "user")
    }
    assert factory_reads["host"] == "replica.internal"
    assert {name: lock[name] for name in factory_reads} == factory_reads
    assert lock["password"] == "s@cret"


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite://", "postgresql://host", "payments.db"])
def test_unusable_urls_are_refused_with_the_url_named(url: str) -> None:
    with pytest.raises(EventStoreUrlError):
        event_store_env(url)


LEAKY_URLS = [
    "postgresql://pay:hunter2-s3cret@/payments",  # no host
    "postgres://pay:hunter2-s3cret@db.internal",  # no database
    "mysql://pay:hunter2-s3cret@db.internal/payments",  # not a store we know
    "postgresql://pay:hunter2/s3cret@db.internal/payments",  # `/` not percent-encoded
    "postgresql://pay:hunter2?s3cret@db.internal/payments",  # `?` not percent-encoded
    "postgresql://pay:hunter2#s3cret@db.internal/payments",  # `#` not percent-encoded
    "postgresql://pay:hunter2-s3cret@db.internal:port/payments",  # port not a number
    "postgresql://pay:hunter2-s3cret@[db.internal/payments",  # unbalanced IPv6 bracket
    "pay:hunter2-s3cret@db.internal/payments",  # no scheme
]


@pytest.mark.parametrize("url", LEAKY_URLS)
def test_a_refused_url_is_named_without_its_password(url: str) -> None:
    with pytest.raises(EventStoreUrlError) as refused:
        event_store_env(url)
    message = str(refused.value)
    assert "***" in message and "\n" not in message
    shown = "".join(traceback.format_exception(refused.value))  # what a crash would print
    assert "hunter2" not in shown and "s3cret" not in shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://pay:s%40cret@db:6543/p?schema=a", "postgresql://pay:***@db:6543/p?schema=a"),
        ("postgresql://pay:p@ss/w?rd#x@db/p", "postgresql://pay:***@db/p"),
        ("postgresql://:secret@db/p", "postgresql://:***@db/p"),
        ("postgresql://pay@db:5432/p", "postgresql://pay@db:5432/p"),
        ("postgresql://db:5432/p", "postgresql://db:5432/p"),
        ("sqlite:///var/a:b@c.db", "sqlite:///var/a:b@c.db"),
        ("", ""),
    ],
)
def test_redacted_masks_exactly_the_password(url: str, shown: str) -> None:
    assert redacted(url) == shown


def test_a_drivers_error_loses_the_password_in_both_spellings() -> None:
    url = "postgresql://pay:s%40cret-pw@db/payments"
    error = RuntimeError('auth failed\nfor "pay" with s@cret-pw (s%40cret-pw)')
    assert store_error_line(error, url) == 'auth failed for "pay" with *** (***)'


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
def test_replicas_starting_together_on_a_fresh_postgres_database_all_open_it() -> None:
    url = fresh_postgres_url()
    try:
        assert race(lambda: open_ledger(url)) == []
        ledger = open_ledger(url)
        tracking = ledger.factory.tracking_recorder
        assert race(lambda: survive_concurrent_schema_creation(tracking)) == []
        ledger.close()
    finally:
        drop_postgres_schema(url)


def connections_to_test_database() -> int:
    with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres") as conn:
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = 'test'"
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0]) - 1  # this very connection


@pytest.mark.postgres
def test_a_store_that_fails_to_open_keeps_no_connection_open() -> None:
    before = connections_to_test_database()
    missing_schema = "postgresql://postgres@127.0.0.1:5432/test?schema=no_such_schema_here"
    # Kept, as a caller that logs or collects errors keeps their tracebacks alive.
    failures = []
    for _ in range(3):
        with pytest.raises(PersistenceError) as failure:
            PaymentLedger(event_store_env(missing_schema))
        failures.append(failure)
    assert connections_to_test_database() <= before


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (a hung or firewalled host)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def assert_fails_quickly_naming(url: str, where: str, why: str) -> None:
    started = time.monotonic()
    with pytest.raises(PersistenceError) as failure:
        open_ledger(url)
    assert time.monotonic() - started < 9
    line = store_error_line(failure.value, url)
    assert where in line and why in line.lower(), line


def test_an_unreachable_postgres_fails_at_once_naming_host_port_and_why() -> None:
    url = "postgresql://pay:hunter2@127.0.0.1:9/payments"
    assert_fails_quickly_naming(url, "127.0.0.1:9", "refused")


def test_a_postgres_that_never_answers_fails_within_seconds_naming_host_port(
    silent_server: int,
) -> None:
    url = f"postgresql://pay@127.0.0.1:{silent_server}/payments"
    assert_fails_quickly_naming(url, f"127.0.0.1:{silent_server}", "timeout")


@pytest.mark.postgres
def test_a_missing_schema_is_created() -> None:
    url = fresh_postgres_url()
    drop_postgres_schema(url)
    try:
        ledger = open_ledger(url)
        ledger.close()
        reopened = open_ledger(url)  # and an existing one is left as it is
        reopened.close()
    finally:
        drop_postgres_schema(url)


@pytest.mark.postgres
def test_a_missing_schema_the_user_may_not_create_is_one_line_saying_how() -> None:
    role, schema = f"r_{uuid.uuid4().hex[:12]}", f"s_{uuid.uuid4().hex[:12]}"
    with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres") as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')  # no CREATE on the database
    try:
        url = f"postgresql://{role}@127.0.0.1:5432/test?schema={schema}"
        with pytest.raises(PersistenceError) as failure:
            open_ledger(url)
        line = store_error_line(failure.value, url)
        assert f'CREATE SCHEMA "{schema}" AUTHORIZATION "{role}"' in line and "\n" not in line
    finally:
        with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres") as conn:
            conn.execute(f'DROP ROLE "{role}"')
