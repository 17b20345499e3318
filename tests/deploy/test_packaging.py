"""What installing the project puts in site-packages: the service, and the sandboxes apart."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from interfaces.cli import sandbox as sandbox_command
from interfaces.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SERVICE_PACKAGES = {"domain", "application", "infrastructure", "interfaces"}


def built_wheel(project: Path, into: Path) -> Path:
    """The wheel pip builds from `project`, offline, with the build backend installed here."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "--wheel-dir", str(into), str(project)],
        check=True, timeout=300, capture_output=True,
    )  # fmt: skip
    (wheel,) = into.glob("*.whl")
    return wheel


def top_level(wheel: Path) -> set[str]:
    names = zipfile.ZipFile(wheel).namelist()
    return {name.split("/")[0] for name in names if ".dist-info/" not in name}


def test_the_service_wheel_holds_the_service_and_not_the_sandboxes(tmp_path: Path) -> None:
    wheel = built_wheel(ROOT, tmp_path)

    assert wheel.name.startswith("payment_service-")
    assert top_level(wheel) == SERVICE_PACKAGES


def test_the_sandboxes_are_a_distribution_of_their_own(tmp_path: Path) -> None:
    wheel = built_wheel(ROOT / "sandbox", tmp_path)

    assert wheel.name.startswith("payment_sandboxes-")
    assert top_level(wheel) == {"sandbox"}
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"sandbox/stripe_api/__main__.py", "sandbox/shop/__main__.py"} <= names


@pytest.fixture
def without_the_sandboxes(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a production install: `import sandbox` finds nothing."""
    for name in [name for name in sys.modules if name.startswith("sandbox.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sandbox", None)


@pytest.mark.usefixtures("without_the_sandboxes")
def test_payments_sandbox_without_the_sandboxes_says_how_to_get_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sandbox", "stripe"]) == 2
    assert sandbox_command.NOT_INSTALLED in capsys.readouterr().err


@pytest.mark.usefixtures("without_the_sandboxes")
def test_payments_dev_without_the_sandboxes_says_so_before_starting_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dev", "--data-dir", str(tmp_path)]) == 2
    assert "the sandboxes are not installed" in capsys.readouterr().err
    assert not (tmp_path / "logs").exists()
