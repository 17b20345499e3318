"""Top frames of a py-spy raw (collapsed) profile as text: `python bench/profile_summary.py FILE`.

Two lists: where the samples are (self time, the innermost frame) and what they are under
(inclusive time, each frame counted once per sample). Idle threads are left out: stacks
that end in a wait (a lock, a selector, a socket read with nothing to read).

`--waits` (for profiles taken with py-spy's `--idle`): where threads wait instead, each
wait named by the innermost frame of the service's own code above it (a webhook's load
waiting for a connection, a save waiting for its group's commit…).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

IDLE = (
    "wait (threading.py",
    "select (selectors.py",
    "_worker (concurrent/futures/thread.py:81",
    "run_forever",
    "_run_once (asyncio/base_events.py:1884",
    "acquire",
    "poll (selectors",
)
# A thread of the pool with nothing to do, or a client library's own timer.
PARKED = ("_worker (concurrent/futures/thread.py:81", "PeriodicExecutor._run", "Runner.run")
OWN_CODE = re.compile(r"\((domain|application|infrastructure|interfaces)/")


def summary(path: Path, top: int = 25) -> str:
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    total = 0
    for frames, samples in _stacks(path):
        if any(mark in frames[-1] for mark in IDLE):
            continue
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            under[frame] += samples
    if not total:
        return "no busy samples"
    lines = [f"{total} busy samples", "self:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame[:140]}" for frame, n in own.most_common(top)]
    lines.append("inclusive:")
    lines += [f"  {100 * n / total:5.1f}%  {frame[:140]}" for frame, n in under.most_common(top)]
    return "\n".join(lines)


def waits(path: Path, top: int = 25) -> str:
    """Samples of threads that wait, by the service's frame they wait in, as a share of the
    samples of threads with work in hand (those parked with nothing to do left out)."""
    where: Counter[str] = Counter()
    total = 0
    for frames, samples in _stacks(path):
        leaf = frames[-1]
        if any(mark in leaf for mark in PARKED):
            continue
        total += samples
        if not any(mark in leaf for mark in IDLE):
            continue
        mine = [frame for frame in frames if OWN_CODE.search(frame)]
        where[f"{mine[-1] if mine else frames[0]}  ->  {leaf}"] += samples
    if not total:
        return "no samples"
    lines = [f"{total} samples of threads with work in hand; waiting in:"]
    lines += [f"  {100 * n / total:5.1f}%  {key[:200]}" for key, n in where.most_common(top)]
    return "\n".join(lines)


def _stacks(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        stacks.append((stack.split(";"), int(count)))
    return stacks


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--waits"]
    count = int(arguments[1]) if len(arguments) > 1 else 25
    report = waits if "--waits" in sys.argv else summary
    print(report(Path(arguments[0]), count))
