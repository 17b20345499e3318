"""Commands that open the event store refuse a bad store URL without printing its password."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from interfaces.cli.main import main
from tests.interfaces.test_serve import clean_environment

PAYMENTS = [sys.executable, "-m", "interfaces.cli.main"]
SECRETS = {"JWT_SECRET": "x" * 40, "STRIPE_WEBHOOK_SECRET": "whsec_x"}
# Each reaches the event store's own checks (the settings only look at the scheme).
BAD_STORE_URLS = [
    "postgresql://pay:hunter2-s3cret@/payments",
    "postgresql://pay:hunter2/s3cret@db.internal/payments",
    "postgresql://pay:hunter2-s3cret@db.internal:port/payments",
]


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PAYMENTS, *args],
        env=clean_environment(**env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_refused_quietly(done: subprocess.CompletedProcess[str], status: int) -> None:
    assert done.returncode == status, done.stderr
    output = done.stdout + done.stderr
    assert "hunter2" not in output and "s3cret" not in output
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "***" in done.stderr


@pytest.mark.parametrize("url", BAD_STORE_URLS)
def test_serve(tmp_path: Path, url: str) -> None:
    done = run("serve", cwd=tmp_path, EVENT_STORE_URL=url, **SECRETS)
    assert_refused_quietly(done, 2)
    assert "EVENT_STORE_URL" in done.stderr


@pytest.mark.parametrize("url", BAD_STORE_URLS)
def test_worker(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {**SECRETS, "EVENT_STORE_URL": url}.items():
        monkeypatch.setenv(name, value)
    status = main(["worker", "--env-file", "/nonexistent/.env"])
    printed = capsys.readouterr()
    assert status == 2
    assert "hunter2" not in printed.err + printed.out and "s3cret" not in printed.err
    assert printed.err.count("\n") == 1 and "***" in printed.err


@pytest.mark.parametrize("url", [*BAD_STORE_URLS, "mysql://pay:hunter2-s3cret@db/payments"])
def test_audit(tmp_path: Path, url: str) -> None:
    assert_refused_quietly(run("audit", "verify", "--store", url, cwd=tmp_path), 2)


@pytest.mark.parametrize("url", BAD_STORE_URLS)
def test_projections_rebuild(tmp_path: Path, url: str, mongo_database_uri: str) -> None:
    done = run(
        "projections", "rebuild", "--store", url, "--mongodb-uri", mongo_database_uri, cwd=tmp_path
    )
    assert_refused_quietly(done, 1)
