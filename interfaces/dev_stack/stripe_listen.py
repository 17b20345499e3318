"""The `stripe listen` command that forwards a Stripe account's test-mode events to the service.

`--events` names exactly the types the service acts on (`HANDLED_EVENTS`): without it the
CLI forwards every event of the account, each one a signed request the service verifies
only to ignore.
"""

from __future__ import annotations

from application.stripe_events import HANDLED_EVENTS


def stripe_listen_events() -> str:
    """The `--events` value: every handled type, sorted, comma-separated (no spaces)."""
    return ",".join(sorted(HANDLED_EVENTS))


def stripe_listen_command(service_port: str) -> str:
    """The command a developer runs beside `payments dev --real-stripe`."""
    return (
        f"stripe listen --events {stripe_listen_events()} "
        f"--forward-to localhost:{service_port}/webhook"
    )
