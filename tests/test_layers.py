"""The hexagon's one direction of imports, checked on every module."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["domain", "application", "infrastructure", "interfaces"]
THIRD_PARTY_ALLOWED = {
    "domain": ("eventsourcing.domain", "msgspec"),
    "application": ("eventsourcing", "msgspec"),
}


def imports_of(path: Path) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.append(node.module)
    return modules


def allowed(layer: str, module: str) -> bool:
    top = module.split(".")[0]
    if top in LAYERS:
        return LAYERS.index(top) <= LAYERS.index(layer)
    if top == "sandbox":
        return False  # dev/test tools; only `payments sandbox`/`dev` load them, lazily
    if top in sys.stdlib_module_names or top == "__future__" or layer not in THIRD_PARTY_ALLOWED:
        return True
    return any(module == ok or module.startswith(ok + ".") for ok in THIRD_PARTY_ALLOWED[layer])


def violations(layer: str) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}: {module}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for module in imports_of(path)
        if not allowed(layer, module)
    ]


def test_domain_imports_only_itself_the_stdlib_eventsourcing_domain_and_msgspec() -> None:
    assert violations("domain") == []


def test_application_never_imports_adapters_or_interfaces() -> None:
    assert violations("application") == []


def test_infrastructure_never_imports_interfaces_or_the_sandboxes() -> None:
    assert violations("infrastructure") == []


def test_the_checker_catches_a_wrong_arrow() -> None:
    assert not allowed("domain", "application.ports")
    assert not allowed("domain", "pymongo")
    assert not allowed("application", "infrastructure.settings")
    assert not allowed("infrastructure", "sandbox.stripe_api")
    assert allowed("domain", "eventsourcing.domain")


def test_the_app_and_its_composition_load_no_sandbox_module() -> None:
    # Only `payments sandbox`/`dev` may load the sandboxes, lazily: the service never does.
    probe = (
        "import sys, interfaces.app, interfaces.composition\n"
        "print('\\n'.join(m for m in sys.modules if m.split('.')[0].startswith('sandbox')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == []
