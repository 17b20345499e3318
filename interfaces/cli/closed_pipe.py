"""`payments … | head`: a reader that stops early ends the command quietly, not in a traceback."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import TypeVar

# What a shell reports for a command killed by SIGPIPE (128 + 13), as `cat big | head` does:
# not 0, so `set -o pipefail` still sees that the output was cut short.
READER_STOPPED = 141
Args = TypeVar("Args")


def quiet_when_the_reader_stops(run: Callable[[Args], int]) -> Callable[[Args], int]:
    """Wraps a command that writes to stdout: a closed pipe ends it with `READER_STOPPED`."""

    @functools.wraps(run)
    def guarded(args: Args) -> int:
        try:
            status = run(args)
            sys.stdout.flush()
        except BrokenPipeError:
            # Python flushes stdout again at exit and would complain about the same pipe;
            # point it at /dev/null so that flush has somewhere to go.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
            return READER_STOPPED
        return status

    return guarded
