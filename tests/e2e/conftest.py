"""`payments dev` once for the e2e module's flows.

Shared, so each flow uses its own order and checks only that order's effects: the
flows pass in any order (advancing the Stripe clock, for one, expires every open
session in the sandbox, whichever flow opened it).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.running_dev import RunningDev


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDev]:
    running = RunningDev(tmp_path_factory.mktemp("dev") / "var")
    try:
        yield running.start()
    finally:
        running.close()
