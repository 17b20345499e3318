"""docker-compose.yml, .env.example and .env.sandbox, checked without Docker (issue 14).

Docker cannot run here, so this is what `docker compose config` and a first
`up` would tell: the file against the Compose specification's JSON schema (the
copy check-jsonschema ships), every setting the service reads given to the API
and the workers, dependencies that exist and report health, host ports that do
not clash, and commands that are real `payments` commands with real options.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.resources
import io
import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from application.stripe_events import HANDLED_EVENTS
from infrastructure.settings import Settings, SettingsError
from interfaces.cli.main import build_parser
from tests.deploy.compose_interpolation import (
    Interpolation,
    documented_names,
    read_env_file,
)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
ENV_SANDBOX = ROOT / ".env.sandbox"
SETTINGS_MODULE = ROOT / "infrastructure" / "settings.py"
SERVICE_PROCESSES = ("payment-service", "payment-worker")
# Values a deployer would put into .env.example's empty required lines.
FILLED_IN = {
    "JWT_SECRET": "a-deployers-secret-of-at-least-32-bytes-0123456789",
    "STRIPE_WEBHOOK_SECRET": "whsec_deployer",
    "STRIPE_SECRET_KEY": "sk_live_deployer",
    "ORDER_SERVICE_URL": "http://order-service:3000",
    "INVENTORY_SERVICE_URL": "http://inventory-service:3000",
    "POSTGRES_PASSWORD": "deployer",
}
COMPOSE_OWN_VARIABLES = {"COMPOSE_PROFILES"}  # read by docker compose itself
OFFICIAL_IMAGE_PORTS = {"postgres": 5432, "mongo": 27017}


def compose_spec_schema() -> dict[str, Any]:
    vendored = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads((vendored / "compose-spec.json").read_text())
    return schema


def raw_compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return document


def interpolated(env: dict[str, str]) -> tuple[dict[str, Any], Interpolation]:
    interpolation = Interpolation(env)
    document: dict[str, Any] = interpolation.value(raw_compose())
    return document, interpolation


def example_env() -> dict[str, str]:
    env = read_env_file(ENV_EXAMPLE)
    return {**env, **{name: value for name, value in FILLED_IN.items() if not env.get(name)}}


def sandbox_env() -> dict[str, str]:
    return read_env_file(ENV_SANDBOX)


ENV_FILES = {"env.example filled in": example_env, "env.sandbox": sandbox_env}


@pytest.fixture(params=sorted(ENV_FILES))
def deployed(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The compose file as `docker compose` sees it with that env file."""
    document, interpolation = interpolated(ENV_FILES[request.param]())
    assert interpolation.missing == {}, f"{request.param} leaves required variables unset"
    return document


def settings_read_by_the_service() -> set[str]:
    """The names `infrastructure/settings.py` reads: the first argument of each `read.…(…)`."""
    tree = ast.parse(SETTINGS_MODULE.read_text(encoding="utf-8"))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "read"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {name: "" if value is None else str(value) for name, value in env.items()}


def runs_our_image(service: dict[str, Any]) -> bool:
    build = service.get("build")
    context = build.get("context") if isinstance(build, dict) else build
    return context in (".", "./")


def build_target(service: dict[str, Any]) -> str | None:
    build = service.get("build")
    return build.get("target") if isinstance(build, dict) else None


def parse_payments_command(argv: list[str]) -> argparse.Namespace:
    """Parses `argv` as the `payments` console script would, without running anything."""
    assert argv[:1] == ["payments"], f"not a payments command: {argv}"
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            args = build_parser().parse_args(argv[1:])
            if args.command == "sandbox":
                _parse_sandbox_options(args.name, args.rest)
    except SystemExit:
        pytest.fail(f"{' '.join(argv)!r} is not a valid command: {stderr.getvalue().strip()}")
    return args


def _parse_sandbox_options(name: str, rest: list[str]) -> None:
    if name == "stripe":
        from sandbox.stripe_api.__main__ import _parser

        _parser().parse_args(rest)
    else:
        from sandbox.shop.__main__ import parse_settings

        parse_settings(rest)


def option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def published_ports(service: dict[str, Any]) -> Iterator[tuple[str, int, int, str]]:
    """(host ip, first host port, last host port, protocol) of each published port."""
    for port in service.get("ports", []):
        if isinstance(port, dict):
            published, host_ip = str(port.get("published", "")), port.get("host_ip", "")
            protocol = port.get("protocol", "tcp")
        else:
            spec, _, protocol = str(port).partition("/")
            protocol = protocol or "tcp"
            parts = spec.rsplit(":", 2)
            if len(parts) == 1:
                continue  # container port only: Docker picks an ephemeral host port
            host_ip = parts[0] if len(parts) == 3 else ""
            published = parts[-2]
        if not published:
            continue
        first, _, last = published.partition("-")
        yield host_ip, int(first), int(last or first), protocol


def replicas(service: dict[str, Any]) -> int:
    return int(service.get("deploy", {}).get("replicas", service.get("scale", 1)))


def test_the_compose_file_follows_the_compose_specification() -> None:
    validator = jsonschema.Draft202012Validator(compose_spec_schema())
    for label, document in [
        ("as written", raw_compose()),
        *((name, interpolated(make())[0]) for name, make in ENV_FILES.items()),
    ]:
        errors = [
            f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(document)
        ]
        assert errors == [], f"docker-compose.yml ({label})"


def test_the_schema_is_the_maintained_copy_and_catches_a_mistake() -> None:
    schema = compose_spec_schema()
    assert schema["$id"] == "compose_spec.json"
    wrong = raw_compose()
    wrong["services"]["payment-service"]["deploy"]["replicaz"] = 2
    assert not jsonschema.Draft202012Validator(schema).is_valid(wrong)


def test_every_setting_the_service_reads_is_given_to_the_api_and_the_workers() -> None:
    names = settings_read_by_the_service()
    # The parse found them all: one environment variable per field of Settings.
    assert names == {field.upper() for field in Settings.__struct_fields__}
    services = raw_compose()["services"]
    for name in SERVICE_PROCESSES:
        missing = names - environment_of(services[name]).keys()
        assert missing == set(), f"{name} is not given {sorted(missing)}"


def test_with_either_env_file_the_api_and_the_workers_start(deployed: dict[str, Any]) -> None:
    for name in SERVICE_PROCESSES:
        try:
            Settings.from_environment(
                environ=environment_of(deployed["services"][name]), env_file=None
            )
        except SettingsError as error:
            pytest.fail(f"{name} would stop at start-up: {error}")


def test_env_example_leaves_only_the_secrets_and_the_neighbours_to_fill_in() -> None:
    _, interpolation = interpolated(read_env_file(ENV_EXAMPLE))
    assert set(interpolation.missing) == set(FILLED_IN)
    for name, message in interpolation.missing.items():
        assert name in message, f"the message for {name} does not name it: {message!r}"
    for secret in ("JWT_SECRET", "STRIPE_WEBHOOK_SECRET", "STRIPE_SECRET_KEY"):
        assert secret in interpolation.missing, f"{secret} must be required, never defaulted"


def test_env_example_documents_every_variable_the_compose_file_reads() -> None:
    _, interpolation = interpolated({})
    documented = documented_names(ENV_EXAMPLE)
    assert set(documented) == interpolation.used, "unlisted or stale variables in .env.example"
    assert [name for name, commented in documented.items() if not commented] == []
    stray = set(read_env_file(ENV_SANDBOX)) - interpolation.used - COMPOSE_OWN_VARIABLES
    assert stray == set(), f".env.sandbox sets variables nothing reads: {sorted(stray)}"


def test_env_example_values_are_the_compose_defaults() -> None:
    _, interpolation = interpolated({})
    for name, value in read_env_file(ENV_EXAMPLE).items():
        literal_defaults = {d for d in interpolation.defaults.get(name, set()) if "$" not in d}
        if value and literal_defaults:
            assert literal_defaults == {value}, f"{name}: .env.example and compose disagree"


def test_every_dependency_exists_and_reports_its_health() -> None:
    services = raw_compose()["services"]
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        if isinstance(depends_on, list):
            depends_on = {target: {"condition": "service_started"} for target in depends_on}
        for target, how in depends_on.items():
            assert target in services, f"{name} depends on {target}, which does not exist"
            assert target != name
            if not service.get("profiles"):
                assert not services[target].get("profiles"), (
                    f"{name} runs in every profile but needs {target}, which does not"
                )
            if how.get("condition") == "service_healthy":
                check = services[target].get("healthcheck", {})
                assert check.get("test") and not check.get("disable"), (
                    f"{name} waits for {target} to be healthy, which has no healthcheck"
                )


def test_published_host_ports_do_not_clash(deployed: dict[str, Any]) -> None:
    taken: dict[tuple[str, int], str] = {}
    for name, service in deployed["services"].items():  # every profile at once
        for host_ip, first, last, protocol in published_ports(service):
            span = last - first + 1
            assert span >= replicas(service), (
                f"{name}: {replicas(service)} replicas but only {span} host port(s) {first}-{last}"
            )
            for port in range(first, last + 1):
                key = (protocol, port)
                owner = taken.setdefault(key, f"{name} ({host_ip or '*'})")
                assert owner.startswith(f"{name} "), f"host port {port} of {name} and {owner}"


def test_each_command_of_our_images_is_a_real_payments_command(
    deployed: dict[str, Any],
) -> None:
    ours = {name: s for name, s in deployed["services"].items() if runs_our_image(s)}
    assert set(SERVICE_PROCESSES) <= set(ours)
    for name, service in ours.items():
        args = parse_payments_command(service["command"])
        # The production image has no sandbox: only the sandbox target may run one.
        assert (args.command == "sandbox") == (build_target(service) == "sandbox"), name
    assert parse_payments_command(ours["payment-service"]["command"]).command == "serve"
    assert parse_payments_command(ours["payment-worker"]["command"]).command == "worker"


def test_each_process_has_the_replicas_the_issue_asks_for() -> None:
    services = raw_compose()["services"]
    assert [replicas(services[name]) for name in SERVICE_PROCESSES] == [2, 2]


def listening_ports(services: dict[str, Any]) -> dict[str, int]:
    """The port each service listens on inside the compose network."""
    ports = {}
    for name, service in services.items():
        image = str(service.get("image", "")).split(":")[0].split("/")[-1]
        if image in OFFICIAL_IMAGE_PORTS:
            ports[name] = OFFICIAL_IMAGE_PORTS[image]
        elif runs_our_image(service):
            command = service["command"]
            if command[1] == "serve":
                ports[name] = int(environment_of(service).get("PORT") or 8000)
            elif command[1] == "sandbox" and option(command, "--port"):
                ports[name] = int(option(command, "--port") or 0)
    return ports


def test_addresses_between_services_name_a_service_and_its_port(
    deployed: dict[str, Any],
) -> None:
    services = deployed["services"]
    listening = listening_ports(services)
    names = "|".join(sorted(map(re.escape, services), key=len, reverse=True))
    address = re.compile(rf"(?<![\w.-])({names}):(\d+)(?![\d])")
    for name, service in services.items():
        for text in _strings({k: v for k, v in service.items() if k != "image"}):
            for target, port in address.findall(text):
                assert listening.get(target) == int(port), (
                    f"{name} calls {target}:{port}, but {target} listens on "
                    f"{listening.get(target, 'no known port')}"
                )


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def test_the_sandbox_profile_shares_its_secrets_with_the_service() -> None:
    services = interpolated(sandbox_env())[0]["services"]
    service_env = environment_of(services["payment-service"])
    stripe_sandbox, shop = services["stripe-sandbox"], services["shop"]
    signs_with = option(stripe_sandbox["command"], "--webhook-secret")
    assert signs_with == service_env["STRIPE_WEBHOOK_SECRET"]
    assert environment_of(shop)["JWT_SECRET"] == service_env["JWT_SECRET"]
    assert environment_of(shop)["INTERNAL_SERVICE_TOKEN"] == service_env["INTERNAL_SERVICE_TOKEN"]
    # The service talks to the stand-ins, and the browser reaches the Checkout pages.
    assert service_env["STRIPE_API_BASE"] == "http://stripe-sandbox:12111"
    assert service_env["ORDER_SERVICE_URL"] == service_env["INVENTORY_SERVICE_URL"]
    assert service_env["ORDER_SERVICE_URL"] == "http://shop:3000"
    host_port = next(published_ports(stripe_sandbox))[1]
    assert option(stripe_sandbox["command"], "--public-url") == f"http://localhost:{host_port}"
    assert read_env_file(ENV_SANDBOX)["COMPOSE_PROFILES"] == "sandbox"


def test_the_stripe_profile_forwards_the_handled_events_with_the_services_key() -> None:
    services = interpolated(example_env())[0]["services"]
    stripe = services["stripe"]
    assert stripe["image"].startswith("stripe/stripe-cli")
    assert stripe["profiles"] == ["stripe"]
    assert stripe["command"][0] == "listen"
    assert option(stripe["command"], "--forward-to") == "payment-service:8000/webhook"
    assert set((option(stripe["command"], "--events") or "").split(",")) == HANDLED_EVENTS
    key = environment_of(services["payment-service"])["STRIPE_SECRET_KEY"]
    assert environment_of(stripe)["STRIPE_API_KEY"] == key


def test_the_databases_are_the_official_images_with_volumes() -> None:
    services = raw_compose()
    postgres, mongodb = services["services"]["postgres"], services["services"]["mongodb"]
    assert postgres["image"].startswith("postgres:")
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert mongodb["image"].startswith("mongo:")
    assert option(mongodb["command"], "--replSet") == "rs0"
    assert "rs.initiate" in " ".join(mongodb["healthcheck"]["test"])
    uri = environment_of(services["services"]["payment-service"])["MONGODB_URI"]
    assert "replicaSet=rs0" in uri
    for service in (postgres, mongodb):
        for volume in service["volumes"]:
            assert volume.split(":")[0] in services["volumes"], volume


def test_the_console_script_is_the_one_the_commands_name() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"]["payments"] == "interfaces.cli.main:main"
