"""Start-up shared by `serve`, `worker` and `reconcile`: settings, then the store.

A missing or malformed setting, or an unusable store URL, is one line naming it
and exit 2; a store that cannot be opened is one line without its password.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from eventsourcing.persistence import PersistenceError

from infrastructure.event_store.store import EventStoreUrlError, store_error_line
from infrastructure.settings import Settings, SettingsError
from infrastructure.structured_logging import configure_logging

SETTINGS_INVALID = 2
STORE_UNAVAILABLE = 1


class StartupFailed(Exception):
    """The command cannot start; `report()` prints its one line and gives the exit code."""

    def __init__(self, command: str, line: str, exit_code: int) -> None:
        super().__init__(line)
        self.command = command
        self.line = line
        self.exit_code = exit_code

    def report(self) -> int:
        print(f"payments {self.command}: {self.line}", file=sys.stderr)
        return self.exit_code


def add_env_file_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env-file", type=Path, default=Path(".env"), help="settings file (default .env)"
    )


@contextmanager
def starting(command: str, env_file: Path) -> Iterator[Settings]:
    """A long-running command's start: its settings, logging configured from them, and a
    store that cannot be opened inside the block reported as `StartupFailed`."""
    settings = load_settings(command, env_file)
    configure_logging(settings.log_level)
    with opening_store(command, settings):
        yield settings


def load_settings(command: str, env_file: Path) -> Settings:
    try:
        return Settings.from_environment(env_file=env_file)
    except SettingsError as error:
        raise StartupFailed(command, str(error), SETTINGS_INVALID) from error


@contextmanager
def opening_store(
    command: str, settings: Settings, unavailable_code: int = STORE_UNAVAILABLE
) -> Iterator[None]:
    """Turns store errors raised inside the block into `StartupFailed`."""
    try:
        yield
    except EventStoreUrlError as error:  # its message masks the password
        raise StartupFailed(command, str(error), SETTINGS_INVALID) from error
    except PersistenceError as error:
        # The URL is not echoed, and the driver's words lose any password they quote.
        line = store_error_line(error, settings.event_store_url)
        raise StartupFailed(
            command, f"cannot open the event store: {line}", unavailable_code
        ) from error
