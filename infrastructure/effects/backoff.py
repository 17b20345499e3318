"""How long to wait before trying a failing call again."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential backoff with "equal jitter".

    The ceiling doubles from `base` up to `cap`; the delay is drawn from its upper
    half, so workers that failed together do not retry together, yet none retries
    much sooner than the schedule says.
    """

    base: float = 0.5
    cap: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.base <= self.cap:
            raise ValueError(f"backoff needs 0 < base <= cap, got {self.base} and {self.cap}")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The pause after the `attempt`-th consecutive failure (0 for the first)."""
        ceiling = min(self.cap, self.base * 2 ** min(attempt, 62))
        return rng.uniform(ceiling / 2, ceiling)
