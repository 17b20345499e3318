"""What `payments dev` tells the developer once everything is up."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path

from interfaces.dev_stack.children import ChildSpec
from interfaces.dev_stack.stripe_listen import stripe_listen_command

TITLES = {
    "shop": "Shop + API gateway",
    "payments": "Payment service",
    "stripe": "Stripe sandbox",
    "mongo": "MongoDB (SecantusDB)",
}


def _users() -> list[str]:
    # The shop's seed is a dev tool the service never imports; only this command loads it.
    seed = importlib.import_module("sandbox.shop.seed")
    return [f"{user.email} / {seed.SEED_PASSWORD} ({user.role})" for user in seed.USERS]


def ready_banner(
    plan: Sequence[ChildSpec], data_dir: Path, mongodb_uri: str, env_file: Path | None = None
) -> str:
    """Where everything listens, who can log in, which cards to use, where the settings are."""
    lines = ["", "payments dev is up:"]
    for spec in reversed(plan):
        lines.append(f"  {TITLES.get(spec.name, spec.name):<22} {spec.url}")
    if all(spec.name != "mongo" for spec in plan):
        lines.append(f"  {'MongoDB':<22} {mongodb_uri}")
    gateway = next(spec.url for spec in plan if spec.name == "shop")
    service = next(spec.url for spec in plan if spec.name == "payments")
    if all(spec.name != "stripe" for spec in plan):
        listen = stripe_listen_command(service.rsplit(":", 1)[1])
        lines.append(f"  {'Stripe (test mode)':<22} {listen}")
    lines += [
        f"  {'Payments via gateway':<22} {gateway}/payments/…",
        f"  {'OpenAPI':<22} {service}/schema",
        "Test users:",
        *(f"  {user}" for user in _users()),
        "Cards: 4242 4242 4242 4242 pays, 4000 0000 0000 0002 is declined.",
        *_other_commands(env_file),
        f"State and logs: {data_dir} (logs in {data_dir / 'logs'}). Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)


def _other_commands(env_file: Path | None) -> list[str]:
    if env_file is None:
        return []
    shown = env_file.relative_to(Path.cwd()) if env_file.is_relative_to(Path.cwd()) else env_file
    return [f"The service's settings for other commands: payments reconcile --env-file {shown}"]
