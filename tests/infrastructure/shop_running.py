"""A reference shop shared by one test module (each test makes its own orders)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.shop import RunningShop, ShopOptions


def running_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningShop]:
    """Body of a module-scoped fixture: starting a shop per test would dominate the runtime."""
    data_dir = tmp_path_factory.mktemp("shop") / "data"
    shop = RunningShop(ShopOptions(), data_dir).start()
    yield shop
    shop.close()
