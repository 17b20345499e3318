"""`payments worker` as an operator meets it: bad settings stop it with one line."""

from __future__ import annotations

import pytest

from interfaces.cli.main import main


def test_a_missing_setting_stops_the_worker_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("JWT_SECRET", raising=False)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_x")

    status = main(["worker", "--env-file", "/nonexistent/.env"])

    assert status == 2
    assert capsys.readouterr().err.strip() == "payments worker: JWT_SECRET is required but not set"


def test_a_bad_event_store_url_stops_the_worker(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JWT_SECRET", "x" * 32)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_x")
    monkeypatch.setenv("EVENT_STORE_URL", "mysql://db/payments")

    status = main(["worker", "--env-file", "/nonexistent/.env"])

    assert status == 2
    assert "EVENT_STORE_URL" in capsys.readouterr().err
