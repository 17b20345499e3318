"""One JSON object per log line, through the stdlib `logging` module.

Fields passed in `extra=` (orderId, sessionId, eventId…) become top-level keys.
Keys that look like credentials are masked, whoever passed them. Values may come
from a request (a path, an event id, a refusal's reason), so each is cut to a few
hundred characters: a hostile client cannot make a line as long as its request.
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
MAX_VALUE_CHARS = 300  # an `extra` value; ids and reasons are far shorter
MAX_MESSAGE_CHARS = 1000  # the message, and each line of a traceback
MAX_ITEMS = 20  # of a list or dict passed in `extra`
MAX_DEPTH = 3


def is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(marker in lowered for marker in SECRET_MARKERS)


def truncated(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """`text` cut to `limit` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[truncated {len(text) - limit} chars]"


def bounded(value: Any, depth: int = 0) -> Any:
    """A log value no longer than a few hundred characters per string, at any depth."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return truncated(value)
    if depth < MAX_DEPTH and isinstance(value, list | tuple):
        return [bounded(item, depth + 1) for item in value[:MAX_ITEMS]]
    if depth < MAX_DEPTH and isinstance(value, dict):
        items = list(value.items())[:MAX_ITEMS]
        return {truncated(str(key)): bounded(item, depth + 1) for key, item in items}
    return truncated(str(value))


class JsonFormatter(logging.Formatter):
    """Formats a record as a single-line JSON object with its `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": truncated(record.getMessage(), MAX_MESSAGE_CHARS),
        }
        for key, value in vars(record).items():
            if key not in STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[truncated(key)] = MASK if is_secret(key) else bounded(value)
        if record.exc_info:
            lines = self.formatException(record.exc_info).splitlines()
            entry["exception"] = "\n".join(truncated(line, MAX_MESSAGE_CHARS) for line in lines)
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
