"""What the shop is started with (the command line, in one immutable record)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-in-production"  # noqa: S105 - a local dev default, never production


@dataclass(frozen=True, slots=True)
class ShopSettings:
    """Options of one shop process."""

    host: str = "127.0.0.1"
    port: int = 3000
    data_dir: Path | None = None
    jwt_secret: str = DEV_JWT_SECRET
    internal_token: str | None = None
    payment_service_url: str = "http://127.0.0.1:8000"
    token_hours: int = 24
