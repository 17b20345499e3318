"""Which children `payments dev` starts, in which order, with which settings."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from interfaces.dev_stack.children import ChildSpec
from interfaces.dev_stack.dev_secrets import DevSecrets
from interfaces.dev_stack.probes import http_ok, mongo_ping

PAYMENTS = [sys.executable, "-m", "interfaces.cli.main"]
SANDBOX_STRIPE_KEY = "sk_test_payments_dev"  # the sandbox takes any sk_test_… key
MONGO_DATABASE = "paymentdb"


@dataclass(frozen=True, slots=True)
class DevOptions:
    """The command line of `payments dev`, resolved."""

    data_dir: Path
    gateway_port: int = 3000
    service_port: int = 8000
    stripe_port: int = 12111
    mongo_port: int = 27017
    mongodb_uri: str | None = None  # an existing server; else SecantusDB is started
    event_store_url: str | None = None  # else a SQLite file in the data dir
    real_stripe_key: str | None = None  # real Stripe (test mode) instead of the sandbox
    real_webhook_secret: str | None = None


def local(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def mongo_uri(options: DevOptions) -> str:
    if options.mongodb_uri:
        return options.mongodb_uri
    return f"mongodb://127.0.0.1:{options.mongo_port}/{MONGO_DATABASE}?directConnection=true"


def build_plan(options: DevOptions, secrets: DevSecrets) -> list[ChildSpec]:
    """Children in start order; each one's dependencies come before it."""
    children = []
    if not options.mongodb_uri:
        children.append(_mongo(options))
    if options.real_stripe_key is None:
        children.append(_stripe_sandbox(options, secrets))
    children += [_payment_service(options, secrets), _shop(options, secrets)]
    return children


def _mongo(options: DevOptions) -> ChildSpec:
    # SecantusDB speaks MongoDB's wire protocol; it is a dev dependency run as a
    # command, never imported, so the service only ever sees a pymongo URI.
    command = [
        sys.executable, "-m", "secantus", "--host", "127.0.0.1",
        "--port", str(options.mongo_port), "--standalone", "--log-level", "WARNING",
        "--storage-path", str(options.data_dir / "mongo"),
    ]  # fmt: skip
    uri = mongo_uri(options)
    return ChildSpec("mongo", command, mongo_ping(uri), uri)


def _stripe_sandbox(options: DevOptions, secrets: DevSecrets) -> ChildSpec:
    command = [
        *PAYMENTS, "sandbox", "stripe", "--port", str(options.stripe_port),
        "--data-dir", str(options.data_dir / "stripe"),
        "--forward-to", f"{local(options.service_port)}/webhook",
        "--webhook-secret", secrets.webhook_secret,
    ]  # fmt: skip
    url = local(options.stripe_port)
    return ChildSpec("stripe", command, http_ok(f"{url}/_sandbox/health"), url)


def _stripe_env(options: DevOptions, secrets: DevSecrets) -> dict[str, str]:
    if options.real_stripe_key is not None:
        return {  # and no STRIPE_API_BASE: the SDK's default is Stripe itself
            "STRIPE_SECRET_KEY": options.real_stripe_key,
            "STRIPE_WEBHOOK_SECRET": options.real_webhook_secret or "",
        }
    return {
        "STRIPE_SECRET_KEY": SANDBOX_STRIPE_KEY,
        "STRIPE_API_BASE": local(options.stripe_port),
        "STRIPE_WEBHOOK_SECRET": secrets.webhook_secret,
    }


def _payment_service(options: DevOptions, secrets: DevSecrets) -> ChildSpec:
    shop = local(options.gateway_port)
    store = options.event_store_url or f"sqlite:///{options.data_dir / 'payments.db'}"
    env = {
        "PORT": str(options.service_port),
        "EVENT_STORE_URL": store,
        "MONGODB_URI": mongo_uri(options),
        "JWT_SECRET": secrets.jwt_secret,
        "ORDER_SERVICE_URL": shop,
        "INVENTORY_SERVICE_URL": shop,
        "INTERNAL_SERVICE_TOKEN": secrets.internal_token,
        "FRONTEND_URL": "http://localhost:3000" if options.gateway_port == 3000 else shop,
        **_stripe_env(options, secrets),
    }
    url = local(options.service_port)
    return ChildSpec(
        "payments", [*PAYMENTS, "serve", "--host", "127.0.0.1"],  # a dev box serves only itself
        http_ok(f"{url}/health"), url, env,
        unset=("STRIPE_API_BASE",) if options.real_stripe_key is not None else (),
    )  # fmt: skip


def _shop(options: DevOptions, secrets: DevSecrets) -> ChildSpec:
    command = [
        *PAYMENTS, "sandbox", "shop", "--port", str(options.gateway_port),
        "--data-dir", str(options.data_dir / "shop"),
        "--payment-service-url", local(options.service_port),
    ]  # fmt: skip
    # Secrets through the environment (the shop's defaults), not argv, which `ps` shows.
    env = {"JWT_SECRET": secrets.jwt_secret, "INTERNAL_SERVICE_TOKEN": secrets.internal_token}
    url = local(options.gateway_port)
    return ChildSpec("shop", command, http_ok(f"{url}/_shop/health"), url, env)
