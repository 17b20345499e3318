"""One supervised child process: started in its own session, logged to a file, stopped for sure."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from interfaces.dev_stack.probes import Probe

PR_SET_PDEATHSIG = 1
ECHO_WIDTH = 160


@dataclass(frozen=True)
class ChildSpec:
    """How to start one part of the stack and how to tell it is ready."""

    name: str
    command: list[str]
    ready: Probe
    url: str
    env: Mapping[str, str] = field(default_factory=dict)
    unset: tuple[str, ...] = ()  # inherited variables the child must not see

    def environment(self) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if k not in self.unset}
        return {**inherited, "PYTHONUNBUFFERED": "1", **self.env}


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: if `payments dev` itself is killed
    # (SIGKILL, no chance to clean up), the kernel sends the child SIGTERM.
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def console_text(line: str) -> str:
    """A JSON log line as `LEVEL message (ids)`; the full line stays in the log file."""
    try:
        record = json.loads(line) if line.startswith("{") else None
    except ValueError:
        record = None
    if not isinstance(record, dict) or "message" not in record:
        return line
    ids = [f"{key}={record[key]}" for key in ("orderId", "sessionId", "eventId") if key in record]
    suffix = f" ({', '.join(ids)})" if ids else ""
    return f"{record.get('level', '')} {record['message']}{suffix}".strip()


class RunningChild:
    """A started child; its output goes to `log_path` and, tagged, to the console."""

    def __init__(self, spec: ChildSpec, log_path: Path, echo: IO[str] | None) -> None:
        self.spec = spec
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(  # noqa: S603 - argv built by the plan, no shell
            spec.command,
            env=spec.environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Own session: the terminal's Ctrl-C reaches only `payments dev`, which then
            # stops the children in order; killpg also reaches any worker they fork.
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads run in the child
        )
        self._pump = threading.Thread(target=self._copy_output, args=(echo,), daemon=True)
        self._pump.start()

    @property
    def pid(self) -> int:
        return self._process.pid

    def exit_code(self) -> int | None:
        """None while running."""
        return self._process.poll()

    def _copy_output(self, echo: IO[str] | None) -> None:
        assert self._process.stdout is not None
        with self.log_path.open("ab") as log:
            for line in self._process.stdout:
                log.write(line)
                log.flush()
                if echo is not None:
                    text = console_text(line.decode(errors="replace").rstrip())
                    print(f"[{self.spec.name}] {text[:ECHO_WIDTH]}", file=echo, flush=True)

    def stop(self, timeout: float) -> None:
        """SIGTERM to the child's process group, SIGKILL if it outlives `timeout`."""
        self._signal_group(signal.SIGTERM)
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self._process.wait(timeout=timeout)
        self._signal_group(signal.SIGKILL)  # stragglers the child left in its group
        self._pump.join(timeout=2.0)

    def _signal_group(self, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signum)

    def log_tail(self, lines: int = 20) -> str:
        self._pump.join(timeout=1.0)
        if not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])
