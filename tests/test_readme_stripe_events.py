"""The README's list of Stripe events is the service's (`HANDLED_EVENTS`), and so is every
`stripe listen` command it shows: an operator who copies either gets every event the
service acts on, and none it ignores."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from application.stripe_events import HANDLED_EVENTS

README = Path(__file__).resolve().parent.parent / "README.md"
EVENTS_HEADING = "### Stripe events the service needs"


def readme() -> str:
    return README.read_text(encoding="utf-8")


def listed_events(text: str) -> list[str]:
    """The event types in the first column of the table under the events heading."""
    section = text.split(EVENTS_HEADING, 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [name for row in rows for name in re.findall(r"`([a-z_.]+)`", row.split("|")[1])]


def listen_commands(text: str) -> list[list[str]]:
    """Every `stripe listen … --forward-to …` command in the README's code blocks (a command
    continued over lines with a backslash read as one)."""
    lines = [line.split("#", 1)[0] for line in text.replace("\\\n", " ").splitlines()]
    return [
        shlex.split(line) for line in lines if "stripe listen" in line and "--forward-to" in line
    ]


def test_the_readme_lists_every_event_the_service_handles_once() -> None:
    listed = listed_events(readme())

    assert sorted(listed) == sorted(HANDLED_EVENTS)
    assert len(listed) == len(set(listed))


def test_every_stripe_listen_in_the_readme_forwards_exactly_those_events() -> None:
    commands = listen_commands(readme())

    assert commands, "the README shows no `stripe listen --forward-to` command"
    for command in commands:
        assert "--events" in command, " ".join(command)
        events = command[command.index("--events") + 1].split(",")
        assert sorted(events) == sorted(HANDLED_EVENTS), " ".join(command)
