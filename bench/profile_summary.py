"""Top frames of a py-spy raw (collapsed) profile as text: `python bench/profile_summary.py FILE`.

Two lists: where the samples are (self time, the innermost frame) and what they are under
(inclusive time, each frame counted once per sample). Idle threads are left out: stacks
that end in a wait (a lock, a selector, a socket read with nothing to read).
"""

from __future__ import annotations

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


def summary(path: Path, top: int = 25) -> str:
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if any(mark in frames[-1] for mark in IDLE):
            continue
        samples = int(count)
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


if __name__ == "__main__":
    print(summary(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 25))
