"""Chooses the event store from `EVENT_STORE_URL`: a SQLite file or PostgreSQL."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

import psycopg
from eventsourcing.persistence import (
    IntegrityError,
    InternalError,
    OperationalError,
    ProgrammingError,
)
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
from psycopg import sql

from application.ledger import PaymentLedger
from infrastructure.event_store.group_commit import GroupCommit
from infrastructure.event_store.sqlite_readers import SqliteReaders

DEFAULT_EVENT_STORE_URL = "sqlite:///var/payments.db"
MAPPER_TOPIC = "infrastructure.event_store.encoding:MsgspecMapper"
TRANSCODER_TOPIC = "infrastructure.event_store.encoding:MsgspecTranscoder"
MASK = "***"
# libpq reads these from the environment for every connection: the store's and the
# reconciliation lock's alike (infrastructure/effects/reconcile_lock.py).
POSTGRES_TLS_HINT = "; for TLS set libpq's PGSSLMODE, PGSSLROOTCERT… in the environment"
T = TypeVar("T")
DEADLOCK_DETECTED = "40P01"


class EventStoreUrlError(ValueError):
    """EVENT_STORE_URL names no store we can use; the message never holds its password."""


def redacted(url: str) -> str:
    """The URL with its password masked, fit for messages and logs; never raises."""
    span = _password_span(url)
    return url if span is None else f"{url[: span[0]]}{MASK}{url[span[1] :]}"


def store_error_line(error: BaseException, url: str) -> str:
    """A driver's error about the store at `url` as one line, the URL's password masked."""
    text = " ".join(str(error).split())
    span = _password_span(url)
    if span is not None:
        password = url[span[0] : span[1]]
        for form in sorted({password, unquote(password)} - {""}, key=len, reverse=True):
            text = text.replace(form, MASK)
    return text


def _password_span(url: str) -> tuple[int, int] | None:
    """Where the password sits: after the user name's `:`, up to the last `@`.

    Found by hand, not by `urlsplit`, which ends the user info at a `/`, `?` or
    `#` that an unencoded password may hold (and then shows the rest as path,
    query or port) and raises on some malformed hosts.
    """
    separator = url.find("://")
    start = separator + 3 if separator >= 0 else 0
    if separator >= 0 and url[start : start + 1] == "/":
        return None  # no authority at all (sqlite:///path)
    at = url.rfind("@")
    colon = url.find(":", start, at) if at > start else -1
    return None if colon < 0 else (colon + 1, at)


def missing_sqlite_file(url: str) -> str | None:
    """The file a `sqlite:///` URL names, when there is none: opening it would create an
    empty store, which a command that reads history must refuse (it would verify, or
    wipe a view). None for any other URL, or a malformed one (opening it says why)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if parts.scheme != "sqlite" or path == ":memory:" or Path(unquote(path)).is_file():
        return None
    return path


def event_store_env(url: str = DEFAULT_EVENT_STORE_URL) -> dict[str, str]:
    """Maps a store URL onto eventsourcing's persistence settings."""
    parts = _split(url)
    if parts.scheme == "sqlite":
        _query(parts, url, known=())  # none: a SQLite URL names a file, nothing more
        env = _sqlite_env(parts.path, url)
    elif parts.scheme in ("postgresql", "postgres"):
        env = _postgres_env(parts, url)
    else:
        raise EventStoreUrlError(
            f"EVENT_STORE_URL must be sqlite:///… or postgresql://…: {redacted(url)!r}"
        )
    env.update(MAPPER_TOPIC=MAPPER_TOPIC, TRANSCODER_TOPIC=TRANSCODER_TOPIC)
    return env


def _split(url: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError:
        raise EventStoreUrlError(f"EVENT_STORE_URL is not a URL: {redacted(url)!r}") from None


def _sqlite_env(path: str, url: str) -> dict[str, str]:
    # sqlite:///var/x.db is relative, sqlite:////abs/x.db absolute, as SQLAlchemy reads them.
    relative = path[1:] if path.startswith("/") else path
    if not relative:
        raise EventStoreUrlError(f"EVENT_STORE_URL has no file path: {redacted(url)!r}")
    if relative == ":memory:":
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": ":memory:"}
    file = Path(unquote(relative))
    file.parent.mkdir(parents=True, exist_ok=True)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(file),
        "SQLITE_LOCK_TIMEOUT": "10",
    }


def _postgres_env(parts: SplitResult, url: str) -> dict[str, str]:
    _check_authority(parts, url)
    dbname = parts.path.lstrip("/")
    if not parts.hostname or not dbname:
        raise EventStoreUrlError(f"EVENT_STORE_URL needs a host and a database: {redacted(url)!r}")
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(dbname),
        "POSTGRES_HOST": parts.hostname,
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_CREATE_TABLE": "y",
    }
    schema = _query(parts, url, ("schema",), POSTGRES_TLS_HINT).get("schema")
    if schema is not None:
        env["POSTGRES_SCHEMA"] = schema
    return env


def _query(parts: SplitResult, url: str, known: tuple[str, ...], hint: str = "") -> dict[str, str]:
    """The URL's query parameters; one this module cannot apply is refused, not dropped.

    Dropping it would be silent and dangerous: `?sslmode=verify-full` would connect
    without verifying the server.
    """
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - set(known))
    if unknown:
        supported = ", ".join(known) or "none"
        raise EventStoreUrlError(
            "EVENT_STORE_URL has query parameters this service cannot apply: "
            f"{', '.join(unknown)} (supported: {supported}){hint}"
        )
    if any(len(values) != 1 or not values[0] for values in query.values()):
        raise EventStoreUrlError(
            f"EVENT_STORE_URL must give {', '.join(query)} once, with a value: {redacted(url)!r}"
        )
    return {name: values[0] for name, values in query.items()}


def _check_authority(parts: SplitResult, url: str) -> None:
    """Refuses a password that cut the URL short: the rest would be read as host, port or path."""
    span = _password_span(url)
    if span is not None and parts.password != url[span[0] : span[1]]:
        raise EventStoreUrlError(
            "EVENT_STORE_URL: percent-encode any / ? # in the password "
            f"(as %2F %3F %23): {redacted(url)!r}"
        )
    try:
        _ = parts.port
    except ValueError:
        # `from None`: the parser's message quotes the port, here perhaps a piece of password.
        message = f"EVENT_STORE_URL has a malformed port: {redacted(url)!r}"
        raise EventStoreUrlError(message) from None


def postgres_conninfo(env: Mapping[str, str], application_name: str) -> str:
    """A libpq connection string to the database of a PostgreSQL store's `env`.

    Read exactly as eventsourcing's PostgreSQL factory reads it (`env.get(...) or
    default`), so side connections (the reconciliation lock, LISTEN for new events)
    reach the very database the store uses.
    """
    return psycopg.conninfo.make_conninfo(
        host=env.get("POSTGRES_HOST") or "",
        port=env.get("POSTGRES_PORT") or "5432",
        dbname=env.get("POSTGRES_DBNAME") or "",
        user=env.get("POSTGRES_USER") or "postgres",
        password=env.get("POSTGRES_PASSWORD") or "",
        connect_timeout="5",
        application_name=application_name,
    )


def open_ledger(url: str) -> PaymentLedger:
    """The payment ledger on the store at `url`, its schema and tables created if missing."""
    env = event_store_env(url)

    def create() -> PaymentLedger:
        if env["PERSISTENCE_MODULE"] == "eventsourcing.postgres":
            prepare_postgres(env)
        return PaymentLedger(dict(env))

    ledger = survive_concurrent_schema_creation(create)
    if isinstance(ledger.recorder, SQLiteApplicationRecorder):
        GroupCommit(ledger.recorder).install()  # one fsync for concurrent saves
        SqliteReaders(ledger.recorder.datastore).install()  # reads never queue behind writes
    return ledger


def prepare_postgres(env: Mapping[str, str]) -> None:
    """One plain connection before the store's pool opens, for two reasons.

    An unreachable server then fails within libpq's 5 s `connect_timeout`, naming
    host:port and libpq's reason (the pool would wait 30 s and only say it got no
    connection); and a `?schema=` that does not exist yet is created.
    """
    where = f"{env.get('POSTGRES_HOST')}:{env.get('POSTGRES_PORT') or '5432'}"
    try:
        with psycopg.connect(postgres_conninfo(env, "payments-open"), autocommit=True) as conn:
            schema = env.get("POSTGRES_SCHEMA")
            if schema:
                _create_schema(conn, schema, env.get("POSTGRES_USER") or "postgres")
    except psycopg.OperationalError as error:
        raise OperationalError(f"cannot connect to PostgreSQL at {where}: {error}") from error


def _create_schema(conn: psycopg.Connection[Any], schema: str, user: str) -> None:
    # Looked up first: CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege even
    # when the schema exists, which a least-privilege production user lacks.
    query = "SELECT 1 FROM pg_namespace WHERE nspname = %s"
    if conn.execute(query, (schema,)).fetchone() is not None:
        return
    try:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    except psycopg.errors.InsufficientPrivilege as error:
        raise OperationalError(
            f'schema "{schema}" does not exist and user "{user}" may not create it; '
            f'create it as the database owner: CREATE SCHEMA "{schema}" AUTHORIZATION "{user}"'
        ) from error
    except psycopg.errors.UniqueViolation as error:  # another replica created it just now
        raise IntegrityError(str(error)) from error


def beside_events(
    ledger: PaymentLedger,
    what: str,
    *,
    postgres: Callable[[PostgresDatastore], T],
    sqlite: Callable[[SQLiteDatastore], T],
) -> T:
    """Tables of the service's own (`what`: the effects queue, refund keys, an index) kept in
    the database of `ledger`'s events, built by the adapter for that database; on
    PostgreSQL, replicas creating them at once are survived."""
    datastore = getattr(ledger.recorder, "datastore", None)
    if isinstance(datastore, PostgresDatastore):
        return survive_concurrent_schema_creation(lambda: postgres(datastore))
    if isinstance(datastore, SQLiteDatastore):
        return sqlite(datastore)
    raise TypeError(f"no {what} for a store of {type(ledger.recorder).__name__}")


def survive_concurrent_schema_creation(create: Callable[[], T], attempts: int = 8) -> T:
    """Runs `create`, retrying when another process created the same tables at that moment.

    Replicas starting together on a fresh PostgreSQL database all run
    `CREATE TABLE IF NOT EXISTS`; PostgreSQL lets one win and fails the others
    with a unique violation on its catalogue, "tuple concurrently updated", or a
    deadlock between their DDL. Once the winner has committed, the statement is a
    no-op, so a short retry is all the loser needs; jitter keeps the losers from
    colliding again in step.
    """
    for attempt in range(1, attempts + 1):
        try:
            return create()
        except (IntegrityError, InternalError, ProgrammingError, OperationalError) as error:
            if attempt == attempts or not _is_schema_race(error):
                raise
            time.sleep(random.uniform(0.05, 0.2) * attempt)  # noqa: S311 - jitter, not secrets
    raise AssertionError("unreachable")  # pragma: no cover


def _is_schema_race(error: Exception) -> bool:
    """Any catalogue conflict is a race; of operational errors only a deadlock (40P01) is."""
    if not isinstance(error, OperationalError):
        return True
    return getattr(error.__cause__, "sqlstate", None) == DEADLOCK_DETECTED
