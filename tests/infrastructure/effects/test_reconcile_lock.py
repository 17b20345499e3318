"""The reconciliation lock: one process per store sweeps, and a standby takes over at once."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from infrastructure.effects.reconcile_lock import (
    FileLockLeadership,
    PostgresAdvisoryLeadership,
    SoleLeadership,
    leadership_for,
)
from infrastructure.event_store.store import event_store_env
from tests.fixtures.event_store import drop_postgres_schema, fresh_postgres_url

ADMIN = "host=127.0.0.1 port=5432 dbname=test user=postgres"


def test_a_sqlite_store_is_locked_by_a_file_beside_it(tmp_path: Path) -> None:
    env = event_store_env(f"sqlite:///{tmp_path / 'payments.db'}")
    one, two = leadership_for(env), leadership_for(env)
    assert isinstance(one, FileLockLeadership)
    assert one.path == tmp_path / "payments.db.reconcile.lock"

    assert one.try_acquire()
    assert not two.try_acquire()
    one.release()
    assert two.try_acquire()
    two.release()


def test_an_in_memory_store_needs_no_lock() -> None:
    assert isinstance(leadership_for(event_store_env("sqlite:///:memory:")), SoleLeadership)


def terminate_lock_sessions(key: int) -> int:
    """Ends the sessions holding this advisory key, as a crashed host would; returns how many."""
    # A bigint advisory key is stored as two 32-bit halves (objsubid 1).
    high, low = (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a "
            "JOIN pg_locks l ON l.pid = a.pid WHERE a.application_name = 'payments-reconcile' "
            "AND l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.classid::bigint = %s AND l.objid::bigint = %s",
            (high, low),
        ).fetchall()
    return len(rows)


@pytest.mark.postgres
def test_a_standby_takes_over_when_the_holders_session_dies() -> None:
    url = fresh_postgres_url()
    try:
        holder = PostgresAdvisoryLeadership(event_store_env(url))
        standby = PostgresAdvisoryLeadership(event_store_env(url))
        assert holder.try_acquire()
        assert not standby.try_acquire()

        assert terminate_lock_sessions(holder.key) == 1

        assert not holder.still_held()
        assert standby.try_acquire()
        assert standby.still_held()
        standby.release()
    finally:
        drop_postgres_schema(url)


@pytest.mark.postgres
def test_a_released_lock_is_free_for_the_next_process() -> None:
    url = fresh_postgres_url()
    try:
        first = PostgresAdvisoryLeadership(event_store_env(url))
        second = PostgresAdvisoryLeadership(event_store_env(url))
        assert first.try_acquire()
        first.release()

        assert second.try_acquire()
        second.release()
    finally:
        drop_postgres_schema(url)


def test_stores_in_other_schemas_do_not_share_a_lock() -> None:
    one = event_store_env("postgresql://postgres@127.0.0.1:5432/test?schema=a")
    two = event_store_env("postgresql://postgres@127.0.0.1:5432/test?schema=b")

    assert PostgresAdvisoryLeadership(one).key != PostgresAdvisoryLeadership(two).key
