"""One JSON object per log line, through the stdlib `logging` module.

Fields passed in `extra=` (orderId, sessionId, eventId…) become top-level keys.
Keys that look like credentials are masked, whoever passed them.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import msgspec

# Attributes every LogRecord has; anything else on a record came from `extra=`.
STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}
# Libraries kept at WARNING whatever LOG_LEVEL says: httpx logs every request URL at
# INFO; the Stripe SDK logs each call at INFO and its request and response bodies
# (customer emails, order metadata) at DEBUG.
QUIET_LIBRARIES = ("httpx", "stripe")
SECRET_MARKERS = ("secret", "password", "token", "authorization", "api_key", "apikey", "card")
MASK = "***"


def is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(marker in lowered for marker in SECRET_MARKERS)


class JsonFormatter(logging.Formatter):
    """Formats a record as a single-line JSON object with its `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = MASK if is_secret(key) else value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return msgspec.json.encode(entry, enc_hook=str).decode()


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Routes every logger (ours, Litestar's, the server's) through one JSON handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for library in QUIET_LIBRARIES:
        logging.getLogger(library).setLevel(max(logging.WARNING, root.level))


def logging_dict_config(level: str = "INFO") -> dict[str, Any]:
    """The same JSON lines as a `logging.config` dict, for servers that configure logging
    themselves (granian applies it in its own processes)."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    quiet = logging.getLevelName(max(logging.WARNING, logging.getLevelName(level)))
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"json": handler},
        "loggers": {
            "_granian": {"handlers": ["json"], "level": level, "propagate": False},
            **{library: {"level": quiet} for library in QUIET_LIBRARIES},
        },
        "root": {"handlers": ["json"], "level": level},
    }
