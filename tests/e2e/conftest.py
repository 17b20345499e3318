"""`payments dev` once for the e2e module's flows: each flow uses its own order."""

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
