"""The sandbox's clock: wall time, plus time travel that ages existing objects."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class SandboxClock:
    """Wall time for timestamps; `advance` ages what already exists.

    Tests cannot wait 30 minutes for a session to expire, so an admin endpoint
    advances this clock. Like a Stripe test clock it only affects objects that
    exist when it moves: each session remembers the offset at its creation, and
    ages by the difference. Timestamps stay in wall time, so a client that
    computes `expires_at` from its own clock is never refused after an advance.
    """

    offset_seconds: float = 0.0

    def now(self) -> float:
        return time.time()

    def timestamp(self) -> int:
        return int(self.now())

    def advance(self, seconds: float) -> None:
        self.offset_seconds += seconds

    def is_past(self, deadline: int, offset_at_creation: float) -> bool:
        aged_by = self.offset_seconds - offset_at_creation
        return self.now() + aged_by >= deadline
