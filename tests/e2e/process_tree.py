"""Linux /proc reading for the tests that check `payments dev` leaves no process behind."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple


class Proc(NamedTuple):
    pid: int
    ppid: int
    pgid: int
    command: str


def _read(entry: Path) -> Proc | None:
    try:
        stat = (entry / "stat").read_text()
        command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None  # gone meanwhile
    # The command name in parentheses may hold spaces; the fields after it do not.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None  # a zombie has exited already
    return Proc(int(entry.name), int(fields[1]), int(fields[2]), command.strip())


def processes() -> list[Proc]:
    found = (_read(entry) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return [proc for proc in found if proc is not None]


def descendants(pid: int) -> list[Proc]:
    every = processes()
    tree: list[Proc] = []
    parents = {pid}
    while True:
        children = [p for p in every if p.ppid in parents and p not in tree]
        if not children:
            return tree
        tree += children
        parents = {p.pid for p in children}


def alive_in_groups(groups: set[int]) -> list[Proc]:
    """Processes still running in any of these process groups."""
    return [proc for proc in processes() if proc.pgid in groups]
