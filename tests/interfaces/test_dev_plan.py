"""`payments dev`'s plan: which children, wired to each other, and its refusals before starting."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import pytest

from application.stripe_events import HANDLED_EVENTS
from infrastructure.settings import Settings
from interfaces.cli.main import main
from interfaces.dev_stack.banner import ready_banner
from interfaces.dev_stack.children import ChildSpec
from interfaces.dev_stack.dev_secrets import SECRETS_FILE, load_or_create
from interfaces.dev_stack.plan import DevOptions, build_plan
from interfaces.dev_stack.service_env_file import write_service_env


def by_name(options: DevOptions) -> dict[str, ChildSpec]:
    return {spec.name: spec for spec in build_plan(options, load_or_create(options.data_dir))}


def argument(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_starts_the_stores_before_the_service_and_the_shop_last(tmp_path: Path) -> None:
    plan = build_plan(DevOptions(tmp_path), load_or_create(tmp_path))
    assert [spec.name for spec in plan] == ["mongo", "stripe", "payments", "shop"]


def test_the_service_the_sandbox_and_the_shop_share_their_secrets(tmp_path: Path) -> None:
    options = DevOptions(tmp_path, gateway_port=4000, service_port=4001, stripe_port=4002)
    stripe, payments, shop = (by_name(options)[n] for n in ("stripe", "payments", "shop"))
    service = payments.env

    assert argument(stripe.command, "--webhook-secret") == service["STRIPE_WEBHOOK_SECRET"]
    assert argument(stripe.command, "--forward-to") == "http://127.0.0.1:4001/webhook"
    assert shop.env["JWT_SECRET"] == service["JWT_SECRET"]
    assert shop.env["INTERNAL_SERVICE_TOKEN"] == service["INTERNAL_SERVICE_TOKEN"]
    assert service["STRIPE_API_BASE"] == "http://127.0.0.1:4002"
    assert (
        service["ORDER_SERVICE_URL"] == service["INVENTORY_SERVICE_URL"] == "http://127.0.0.1:4000"
    )
    assert service["EVENT_STORE_URL"] == f"sqlite:///{tmp_path}/payments.db"


def test_an_existing_mongodb_replaces_the_local_one(tmp_path: Path) -> None:
    plan = by_name(DevOptions(tmp_path, mongodb_uri="mongodb://db.example:27017/x"))
    assert "mongo" not in plan
    assert plan["payments"].env["MONGODB_URI"] == "mongodb://db.example:27017/x"


def test_real_stripe_starts_no_sandbox_and_hides_an_inherited_api_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_API_BASE", "http://127.0.0.1:12111")
    options = DevOptions(tmp_path, real_stripe_key="sk_test_real", real_webhook_secret="whsec_x")
    plan = by_name(options)

    environment = plan["payments"].environment()
    assert "stripe" not in plan
    assert "STRIPE_API_BASE" not in environment
    assert environment["STRIPE_SECRET_KEY"] == "sk_test_real"
    assert environment["STRIPE_WEBHOOK_SECRET"] == "whsec_x"


def test_secrets_are_generated_once_per_data_dir_and_private(tmp_path: Path) -> None:
    first, again = load_or_create(tmp_path / "a"), load_or_create(tmp_path / "a")
    other = load_or_create(tmp_path / "b")

    assert first == again
    assert first.webhook_secret.startswith("whsec_")
    assert other.jwt_secret != first.jwt_secret
    assert stat.S_IMODE((tmp_path / "a" / SECRETS_FILE).stat().st_mode) == 0o600


def test_a_busy_port_is_named_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["dev", "--data-dir", str(tmp_path), "--service-port", str(port)])

    assert code == 2
    assert f"payments needs port {port}" in capsys.readouterr().err
    assert not (tmp_path / "logs").exists()


def test_real_stripe_without_its_keys_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    code = main(["dev", "--data-dir", str(tmp_path), "--real-stripe"])

    assert code == 2
    assert "STRIPE_SECRET_KEY" in capsys.readouterr().err


def test_the_banner_names_the_urls_users_and_how_to_reach_real_stripe(tmp_path: Path) -> None:
    options = DevOptions(tmp_path, service_port=8000, real_stripe_key="sk_test_x")
    plan = build_plan(options, load_or_create(tmp_path))

    banner = ready_banner(plan, tmp_path, "mongodb://127.0.0.1:27017/paymentdb")

    assert "http://127.0.0.1:3000" in banner
    assert "testuser@example.com / password123 (user)" in banner
    assert "auditor@example.com / password123 (auditor)" in banner
    assert "admin@example.com / password123 (admin)" in banner
    listen = next(line.split() for line in banner.splitlines() if "stripe listen" in line)
    assert listen[listen.index("--forward-to") + 1] == "localhost:8000/webhook"
    assert set(listen[listen.index("--events") + 1].split(",")) == HANDLED_EVENTS


def test_the_services_settings_are_written_for_the_other_commands(tmp_path: Path) -> None:
    data_dir = tmp_path / "my data #1"  # a path a dotenv reader could trip on
    plan = build_plan(DevOptions(data_dir, stripe_port=4002), load_or_create(data_dir))
    service = next(spec for spec in plan if spec.name == "payments").env

    env_file = write_service_env(plan, data_dir)

    assert env_file == data_dir / "dev.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    settings = Settings.from_environment({}, env_file=env_file)  # as reconcile reads it
    assert settings.jwt_secret == service["JWT_SECRET"]
    assert settings.stripe_webhook_secret == service["STRIPE_WEBHOOK_SECRET"]
    assert settings.stripe_secret_key == service["STRIPE_SECRET_KEY"]
    assert settings.stripe_api_base == "http://127.0.0.1:4002"
    assert settings.event_store_url == f"sqlite:///{data_dir}/payments.db"
    assert settings.mongodb_uri == service["MONGODB_URI"]
    assert settings.internal_service_token == service["INTERNAL_SERVICE_TOKEN"]


def test_the_banner_says_how_other_commands_get_the_settings(tmp_path: Path) -> None:
    plan = build_plan(DevOptions(tmp_path), load_or_create(tmp_path))
    env_file = write_service_env(plan, tmp_path)

    banner = ready_banner(plan, tmp_path, "mongodb://127.0.0.1:27017/paymentdb", env_file)

    assert f"payments reconcile --env-file {env_file}" in banner
