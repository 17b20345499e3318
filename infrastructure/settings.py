"""The service's settings, read once from the environment (and `.env` if present).

A missing or malformed setting raises one `SettingsError` whose message is a
single line naming it, so start-up can print it and stop.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

from domain.lifecycle import FailedPaymentPolicy
from infrastructure.stripe.checkout_params import MAX_EXPIRES_MINUTES, MIN_EXPIRES_MINUTES

# RFC 7518 §3.2: an HS256 key must be at least as long as the hash, 256 bits.
MIN_JWT_SECRET_BYTES = 32
# Stripe's webhook signing secrets; anything else (an API key pasted in the wrong
# place, a placeholder) would make every genuine delivery "Invalid signature".
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
# Create-session calls per user per minute: a shopper never needs 30; a script does.
DEFAULT_CREATE_SESSION_RATE_LIMIT = 30
MAX_CREATE_SESSION_RATE_LIMIT = 1000
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# The HTTP server's guards against clients that hold connections (ADR 0005): a request's
# line and headers must arrive within this many seconds of the connection (or of the
# previous answer); granian takes at most 60 s.
DEFAULT_HTTP_HEADER_TIMEOUT_SECONDS = 10
MAX_HTTP_HEADER_TIMEOUT_SECONDS = 60
DEFAULT_HTTP_KEEPALIVE_SECONDS = 5
DEFAULT_HTTP_MAX_CONNECTIONS = 1000
# Where `payments worker` (no HTTP API) serves its metrics; 0 turns them off.
DEFAULT_METRICS_PORT = 9100


HTTP = ("http", "https")
STORES = ("sqlite", "postgresql", "postgres")
LOCAL_SHOP = "http://localhost:3000"
SECRET_FIELDS = frozenset(
    {"jwt_secret", "stripe_webhook_secret", "stripe_secret_key", "internal_service_token"}
)


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every setting of DESIGN.md, typed; `repr` masks the secrets so a log cannot leak them."""

    jwt_secret: str
    stripe_webhook_secret: str
    port: int = 8000
    event_store_url: str = "sqlite:///var/payments.db"
    mongodb_uri: str | None = None
    stripe_secret_key: str | None = None
    stripe_api_base: str | None = None
    order_service_url: str = LOCAL_SHOP
    inventory_service_url: str = LOCAL_SHOP
    internal_service_token: str | None = None
    frontend_url: str = LOCAL_SHOP
    checkout_expires_minutes: int = 30
    payment_failed_policy: FailedPaymentPolicy = FailedPaymentPolicy.CANCEL
    log_level: str = "INFO"
    reconcile_interval_seconds: int = 300
    delayed_payment_wait_hours: int = 72
    create_session_rate_limit: int = DEFAULT_CREATE_SESSION_RATE_LIMIT
    effect_concurrency: int = 32
    effect_lease_seconds: int = 60
    http_header_timeout_seconds: int = DEFAULT_HTTP_HEADER_TIMEOUT_SECONDS
    http_keepalive_seconds: int = DEFAULT_HTTP_KEEPALIVE_SECONDS
    http_max_connections: int = DEFAULT_HTTP_MAX_CONNECTIONS
    metrics_port: int = DEFAULT_METRICS_PORT

    def __repr__(self) -> str:
        shown = {
            name: "***" if name in SECRET_FIELDS and value else value
            for name, value in msgspec.structs.asdict(self).items()
        }
        return f"Settings({shown})"

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
    ) -> Settings:
        """Process environment first, then `.env` for anything the environment lacks."""
        values = {**read_env_file(env_file), **(os.environ if environ is None else environ)}
        return _parse(_Reader(values))


class _Reader:
    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = values

    def optional(self, name: str) -> str | None:
        value = self._values.get(name, "").strip()
        return value or None

    def required(self, name: str) -> str:
        value = self.optional(name)
        if value is None:
            raise SettingsError(f"{name} is required but not set")
        return value

    def key(self, name: str, min_bytes: int) -> str:
        """A required signing key; its length, never its value, goes into the message."""
        value = self.required(name)
        size = len(value.encode())
        if size < min_bytes:
            raise SettingsError(
                f"{name} must be at least {min_bytes} bytes ({min_bytes * 8} bits) "
                f"for HS256, got {size}"
            )
        return value

    def secret_list(self, name: str, prefix: str) -> str:
        """Comma-separated secrets (several while one is rotated), each starting `prefix`."""
        secrets = [secret.strip() for secret in self.required(name).split(",")]
        if not all(secrets):
            raise SettingsError(
                f"{name} must list one or more secrets separated by commas, none of them empty"
            )
        wrong = [str(at) for at, secret in enumerate(secrets, 1) if not secret.startswith(prefix)]
        if wrong:
            # The position, never the value: a secret must not reach a terminal or a log.
            raise SettingsError(
                f"{name} must hold {prefix}… signing secrets (comma-separated); "
                f"secret {', '.join(wrong)} of {len(secrets)} does not start with {prefix}"
            )
        return ",".join(secrets)

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.optional(name)
        if raw is None:
            return default
        # isdigit() alone takes a superscript 2 (int() then fails) and full-width or
        # Arabic-Indic digits (int() reads them): only ASCII digits are a number here.
        if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
            raise SettingsError(f"{name} must be a whole number from {low} to {high}, got {raw!r}")
        return int(raw)

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        raw = self.optional(name) or default
        for candidate in (raw, raw.lower(), raw.upper()):
            if candidate in allowed:
                return candidate
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")

    def url(
        self, name: str, default: str, schemes: tuple[str, ...] = HTTP, needs_host: bool = True
    ) -> str:
        return self.optional_url(name, schemes, needs_host) or default

    def optional_url(
        self, name: str, schemes: tuple[str, ...] = HTTP, needs_host: bool = True
    ) -> str | None:
        raw = self.optional(name)
        if raw is None:
            return None
        if not _usable_url(raw, schemes, needs_host):
            # The value is not echoed: a URL may carry a password.
            with_host = " with a host name" if needs_host else ""
            raise SettingsError(f"{name} must be a {' or '.join(schemes)} URL{with_host}")
        return raw


def _usable_url(raw: str, schemes: tuple[str, ...], needs_host: bool) -> bool:
    try:
        parts = urlsplit(raw)
        # A port must be a number from 1 to 65535 (`.port` raises otherwise). MongoDB URIs
        # may list several host:port pairs, which `.port` cannot read, so they are left be.
        if parts.scheme in HTTP and parts.port == 0:
            return False
    except ValueError:
        return False
    if parts.scheme not in schemes:
        return False
    if needs_host:
        return bool(parts.hostname)
    return bool(parts.netloc or parts.path.strip("/"))


def _parse(read: _Reader) -> Settings:
    policies = tuple(policy.value for policy in FailedPaymentPolicy)
    return Settings(
        jwt_secret=read.key("JWT_SECRET", MIN_JWT_SECRET_BYTES),
        stripe_webhook_secret=read.secret_list("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET_PREFIX),
        port=read.integer("PORT", 8000, 1, 65535),
        # A SQLite URL has no host; PostgreSQL's is checked with the rest by event_store_env.
        event_store_url=read.url(
            "EVENT_STORE_URL", "sqlite:///var/payments.db", STORES, needs_host=False
        ),
        mongodb_uri=read.optional_url("MONGODB_URI", ("mongodb", "mongodb+srv")),
        stripe_secret_key=read.optional("STRIPE_SECRET_KEY"),
        stripe_api_base=read.optional_url("STRIPE_API_BASE"),
        order_service_url=read.url("ORDER_SERVICE_URL", LOCAL_SHOP),
        inventory_service_url=read.url("INVENTORY_SERVICE_URL", LOCAL_SHOP),
        internal_service_token=read.optional("INTERNAL_SERVICE_TOKEN"),
        frontend_url=read.url("FRONTEND_URL", LOCAL_SHOP),
        checkout_expires_minutes=read.integer(
            "CHECKOUT_EXPIRES_MINUTES", 30, MIN_EXPIRES_MINUTES, MAX_EXPIRES_MINUTES
        ),
        payment_failed_policy=FailedPaymentPolicy(
            read.choice("PAYMENT_FAILED_POLICY", "cancel", policies)
        ),
        log_level=read.choice("LOG_LEVEL", "INFO", LOG_LEVELS),
        reconcile_interval_seconds=read.integer("RECONCILE_INTERVAL_SECONDS", 300, 1, 86400),
        # Up to Stripe's 30 days of events: after that only its objects can tell.
        delayed_payment_wait_hours=read.integer("DELAYED_PAYMENT_WAIT_HOURS", 72, 1, 720),
        create_session_rate_limit=read.integer(
            "CREATE_SESSION_RATE_LIMIT",
            DEFAULT_CREATE_SESSION_RATE_LIMIT,
            1,
            MAX_CREATE_SESSION_RATE_LIMIT,
        ),
        effect_concurrency=read.integer("EFFECT_CONCURRENCY", 32, 1, 1024),
        effect_lease_seconds=read.integer("EFFECT_LEASE_SECONDS", 60, 1, 3600),
        http_header_timeout_seconds=read.integer(
            "HTTP_HEADER_TIMEOUT_SECONDS",
            DEFAULT_HTTP_HEADER_TIMEOUT_SECONDS,
            1,
            MAX_HTTP_HEADER_TIMEOUT_SECONDS,
        ),
        http_keepalive_seconds=read.integer(
            "HTTP_KEEPALIVE_SECONDS", DEFAULT_HTTP_KEEPALIVE_SECONDS, 1, 3600
        ),
        http_max_connections=read.integer(
            "HTTP_MAX_CONNECTIONS", DEFAULT_HTTP_MAX_CONNECTIONS, 1, 100_000
        ),
        metrics_port=read.integer("METRICS_PORT", DEFAULT_METRICS_PORT, 0, 65535),
    )


def read_env_file(path: Path | None) -> dict[str, str]:
    """`KEY=value` lines of a dotenv file; `#` comments, `export` and quotes allowed."""
    if path is None or not path.is_file():
        return {}
    values: dict[str, str] = {}
    for raw_line in path.read_text(encoding="utf-8").splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values
