"""A progress bar on stderr for long walks of the event store (silent when not a terminal)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


@contextmanager
def notification_progress(label: str, last_notification_id: int) -> Iterator[Callable[[int], None]]:
    """Yields a callback taking the notification id reached."""
    console = Console(stderr=True)
    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with bar:
        task = bar.add_task(label, total=max(last_notification_id, 1))

        def advance(notification_id: int) -> None:
            bar.update(task, completed=notification_id)

        yield advance
