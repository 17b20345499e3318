"""Ids shaped like MongoDB ObjectIds (24 hex digits), as the real order service uses."""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")


def new_object_id() -> str:
    """Four bytes of seconds then eight random bytes, so ids sort by creation like Mongo's."""
    return f"{int(time.time()) & 0xFFFFFFFF:08x}{secrets.token_hex(8)}"


def utc_now() -> str:
    """ISO 8601 UTC with milliseconds, as JavaScript's Date.toISOString() writes it."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
