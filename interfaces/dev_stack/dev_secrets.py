"""Secrets the local stack's processes share, generated once per data dir.

They are kept in a file under the data dir, so a restarted `payments dev`
signs and verifies with the same values as before (tokens already issued by
the shop stay valid, webhooks queued in the sandbox still verify).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

SECRETS_FILE = "dev-secrets.json"


@dataclass(frozen=True, slots=True)
class DevSecrets:
    """What the shop, the Stripe sandbox and the payment service must agree on."""

    webhook_secret: str
    jwt_secret: str
    internal_token: str


def _generate() -> DevSecrets:
    return DevSecrets(
        webhook_secret=f"whsec_{secrets.token_hex(24)}",
        jwt_secret=f"dev-jwt-{secrets.token_hex(32)}",
        internal_token=f"dev-internal-{secrets.token_hex(16)}",
    )


def load_or_create(data_dir: Path) -> DevSecrets:
    """The secrets kept in `data_dir`, created (readable by the owner only) if absent."""
    path = data_dir / SECRETS_FILE
    if path.exists():
        kept = json.loads(path.read_text())
        return DevSecrets(**{key: str(kept[key]) for key in DevSecrets.__slots__})
    created = _generate()
    data_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(asdict(created), file, indent=2)
    return created
