"""Chooses the event store from `EVENT_STORE_URL`: a SQLite file or PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from eventsourcing.persistence import IntegrityError, InternalError, ProgrammingError

from application.ledger import PaymentLedger

DEFAULT_EVENT_STORE_URL = "sqlite:///var/payments.db"
MAPPER_TOPIC = "infrastructure.event_encoding:MsgspecMapper"
TRANSCODER_TOPIC = "infrastructure.event_encoding:MsgspecTranscoder"
T = TypeVar("T")


class EventStoreUrlError(ValueError):
    """EVENT_STORE_URL names no store we can use."""


def event_store_env(url: str = DEFAULT_EVENT_STORE_URL) -> dict[str, str]:
    """Maps a store URL onto eventsourcing's persistence settings."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        env = _sqlite_env(parts.path, url)
    elif parts.scheme in ("postgresql", "postgres"):
        env = _postgres_env(url)
    else:
        raise EventStoreUrlError(f"EVENT_STORE_URL must be sqlite:///… or postgresql://…: {url!r}")
    env.update(MAPPER_TOPIC=MAPPER_TOPIC, TRANSCODER_TOPIC=TRANSCODER_TOPIC)
    return env


def _sqlite_env(path: str, url: str) -> dict[str, str]:
    # sqlite:///var/x.db is relative, sqlite:////abs/x.db absolute, as SQLAlchemy reads them.
    relative = path[1:] if path.startswith("/") else path
    if not relative:
        raise EventStoreUrlError(f"EVENT_STORE_URL has no file path: {url!r}")
    if relative == ":memory:":
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": ":memory:"}
    file = Path(unquote(relative))
    file.parent.mkdir(parents=True, exist_ok=True)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(file),
        "SQLITE_LOCK_TIMEOUT": "10",
    }


def _postgres_env(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    dbname = parts.path.lstrip("/")
    if not parts.hostname or not dbname:
        raise EventStoreUrlError(f"EVENT_STORE_URL needs a host and a database: {url!r}")
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(dbname),
        "POSTGRES_HOST": parts.hostname,
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_CREATE_TABLE": "y",
    }
    schema = parse_qs(parts.query).get("schema")
    if schema:
        env["POSTGRES_SCHEMA"] = schema[0]
    return env


def open_ledger(url: str) -> PaymentLedger:
    """The payment ledger on the store at `url`, its tables created if missing."""
    return survive_concurrent_schema_creation(lambda: PaymentLedger(event_store_env(url)))


def survive_concurrent_schema_creation(create: Callable[[], T], attempts: int = 5) -> T:
    """Runs `create`, retrying when another process created the same tables at that moment.

    Replicas starting together on a fresh PostgreSQL database all run
    `CREATE TABLE IF NOT EXISTS`; PostgreSQL lets one win and fails the others
    with a unique violation on its catalogue (or "tuple concurrently updated").
    Once the winner has committed, the statement is a no-op, so a short retry is
    all the loser needs.
    """
    for attempt in range(1, attempts + 1):
        try:
            return create()
        except (IntegrityError, InternalError, ProgrammingError):
            if attempt == attempts:
                raise
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover
