"""The retry schedule: doubling, capped, jittered, never sooner than half the ceiling."""

from __future__ import annotations

import random

import pytest

from infrastructure.effects.backoff import Backoff


def test_delays_double_up_to_the_cap_with_jitter() -> None:
    backoff, rng = Backoff(base=0.5, cap=30.0), random.Random(7)

    ceilings = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    delays = [backoff.delay(attempt, rng) for attempt in range(len(ceilings))]

    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) == len(delays)  # jittered, not a fixed schedule


def test_a_very_long_outage_stays_at_the_cap() -> None:
    assert Backoff(0.5, 30.0).delay(10_000, random.Random(1)) <= 30.0


@pytest.mark.parametrize(("base", "cap"), [(0, 1), (-1, 1), (2, 1)])
def test_a_nonsensical_schedule_is_refused(base: float, cap: float) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(base, cap)
