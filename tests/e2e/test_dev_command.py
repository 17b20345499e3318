"""`payments dev` as a developer runs it: Ctrl-C stops everything it started."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from tests.e2e.process_tree import Proc, alive_in_groups, descendants
from tests.e2e.running_dev import RunningDev, eventually

pytestmark = pytest.mark.e2e


def started_parts(tree: list[Proc]) -> set[str]:
    parts = {"sandbox stripe": "stripe", "sandbox shop": "shop", " serve": "payments",
             "secantus": "mongo"}  # fmt: skip
    return {name for proc in tree for marker, name in parts.items() if marker in proc.command}


def test_ctrl_c_stops_every_child_and_frees_the_ports(tmp_path: Path) -> None:
    dev = RunningDev(tmp_path / "var").start()
    try:
        assert dev.process is not None
        tree = descendants(dev.process.pid)
        expected = {"stripe", "shop", "payments"} | (set() if os.environ.get("MONGODB_URI")
                                                     else {"mongo"})  # fmt: skip
        assert started_parts(tree) == expected

        assert dev.interrupt() == 0

        eventually(lambda: alive_in_groups({p.pgid for p in tree}), lambda left: left == [])
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{dev.gateway_url}/_shop/health")
        assert "payments dev: stopped" in dev.console()
    finally:
        dev.close()


def test_a_child_that_dies_is_named_and_the_rest_are_stopped(tmp_path: Path) -> None:
    dev = RunningDev(tmp_path / "var").start()
    try:
        assert dev.process is not None
        tree = descendants(dev.process.pid)
        shop = next(p for p in tree if "sandbox shop" in p.command)

        os.kill(shop.pid, signal.SIGKILL)

        assert dev.process.wait(timeout=60) == 1
        assert "shop exited with code -9" in dev.console()
        eventually(lambda: alive_in_groups({p.pgid for p in tree}), lambda left: left == [])
    finally:
        dev.close()


def test_a_restart_keeps_orders_tokens_and_the_webhook_secret(tmp_path: Path) -> None:
    first = RunningDev(tmp_path / "var").start()
    try:
        auth = first.login()
        order = first.place_order(auth, "64a000000000000000000001", 1)
        session = first.create_session(auth, order["_id"])
        assert first.interrupt() == 0
    finally:
        first.close()

    second = first.again().start()
    try:
        assert second.payment(auth, order["_id"])["status"] == "INITIATED"  # same token, same store
        paid = httpx.post(session["checkoutUrl"], data={"card_number": "4242424242424242"})
        assert paid.status_code == 303
        status = eventually(
            lambda: second.order_status(auth, order["_id"]), lambda s: s != "PENDING"
        )
        assert status == "CONFIRMED"  # the webhook verified with the kept secret
    finally:
        second.close()
