"""The payment service's settings under `payments dev`, as a dotenv file other commands read.

`payments reconcile --env-file var/dev.env` (or `serve`, `worker`) then reaches the
same store, Stripe sandbox and secrets as the running stack; nobody has to dig the
generated secrets out of a process's environment.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from interfaces.dev_stack.children import ChildSpec

ENV_FILE = "dev.env"
HEADER = "# Written by `payments dev`: the payment service's settings. Holds secrets: keep private."


def write_service_env(plan: Sequence[ChildSpec], data_dir: Path) -> Path:
    """Writes `data_dir/dev.env` (owner-only) from the service's child spec; returns its path."""
    service = next(spec for spec in plan if spec.name == "payments")
    # Quoted, so a value with spaces or `#` reads back whole (infrastructure.settings strips
    # one pair of matching quotes and nothing else).
    lines = [HEADER, *(f'{name}="{value}"' for name, value in sorted(service.env.items()))]
    path = data_dir / ENV_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an older file may have had looser permissions
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")
    return path
