"""Start-up options of the sandbox (the CLI's flags, parsed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SandboxConfig:
    """Everything `python -m sandbox.stripe_api` can be told at start."""

    host: str = "127.0.0.1"
    port: int = 12111
    forward_to: list[str] = field(default_factory=list)
    webhook_secret: str | None = None
    data_dir: Path | None = None
    api_key: str | None = None
    deliver: bool = True
    retry_base_seconds: float = 2.0
    max_attempts: int = 8
    delivery_timeout_seconds: float = 10.0
    public_url: str | None = None
    refund_settle_seconds: float = 30.0
