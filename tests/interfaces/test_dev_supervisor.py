"""The supervisor with tiny real child processes: order, failures named, nothing left behind."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from interfaces.dev_stack.children import ChildSpec, console_text
from interfaces.dev_stack.supervisor import (
    ChildExited,
    ChildNotReady,
    StartInterrupted,
    Supervisor,
)

# A child that marks itself ready by creating a file, notes SIGTERM in a shared
# journal, and then leaves (or, when stubborn, ignores SIGTERM and stays).
CHILD = """
import os, signal, sys, time
name, ready, journal, stubborn = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
def on_term(signum, frame):
    with open(journal, "a") as f:
        f.write(name + "\\n")
    if not stubborn:
        sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
print(f"{name} says hello", flush=True)
open(ready, "w").close()
while True:
    time.sleep(0.05)
"""


def child(tmp_path: Path, name: str, *, stubborn: bool = False, code: str = CHILD) -> ChildSpec:
    ready = tmp_path / f"{name}.ready"
    command = [sys.executable, "-c", code, name, str(ready), str(tmp_path / "journal"),
               "1" if stubborn else "0"]  # fmt: skip
    return ChildSpec(name, command, ready.exists, f"http://127.0.0.1:1/{name}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    running = Supervisor(tmp_path / "logs", threading.Event(), ready_timeout=20, stop_timeout=1)
    yield running
    running.stop_all()


def test_stops_children_in_reverse_order_of_start(tmp_path: Path, supervisor: Supervisor) -> None:
    supervisor.start([child(tmp_path, name) for name in ("db", "api", "shop")])
    pids = [c.pid for c in supervisor.children]

    supervisor.stop_all()

    assert (tmp_path / "journal").read_text().split() == ["shop", "api", "db"]
    assert not any(alive(pid) for pid in pids)


def test_a_child_that_ignores_sigterm_is_killed(tmp_path: Path, supervisor: Supervisor) -> None:
    supervisor.start([child(tmp_path, "stubborn", stubborn=True)])
    pid = supervisor.children[0].pid

    supervisor.stop_all()

    assert (tmp_path / "journal").read_text().split() == ["stubborn"]
    assert not alive(pid)


def test_a_grandchild_goes_with_its_parent(tmp_path: Path, supervisor: Supervisor) -> None:
    # The ready file appears with the pid in it (written aside, then renamed): the
    # supervisor sees it ready the moment it exists, never empty.
    spawner = (
        "import os, subprocess, sys, time\n"
        "worker = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "with open(sys.argv[2] + '.tmp', 'w') as f:\n"
        "    f.write(str(worker.pid))\n"
        "os.replace(sys.argv[2] + '.tmp', sys.argv[2])\n"
        "time.sleep(600)\n"
    )
    supervisor.start([child(tmp_path, "server", code=spawner)])
    worker = int((tmp_path / "server.ready").read_text())

    supervisor.stop_all()

    # The group's SIGKILL is sent before stop_all returns; the orphaned grandchild dies as
    # soon as the kernel schedules it, which on a loaded machine can be a moment later.
    assert gone_within(worker, seconds=5.0)


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_child_failing_at_start_is_named_with_its_output(
    tmp_path: Path, supervisor: Supervisor
) -> None:
    broken = child(
        tmp_path, "payments", code="print('JWT_SECRET is required'); raise SystemExit(3)"
    )

    with pytest.raises(ChildExited) as failure:
        supervisor.start([child(tmp_path, "db"), broken, child(tmp_path, "shop")])

    assert "payments exited with code 3" in str(failure.value)
    assert "JWT_SECRET is required" in failure.value.child.log_tail()
    assert [c.spec.name for c in supervisor.children] == ["db", "payments"]  # shop never started


def test_a_child_dying_later_is_reported_by_name(tmp_path: Path, supervisor: Supervisor) -> None:
    supervisor.start([child(tmp_path, "db"), child(tmp_path, "api")])
    os.kill(supervisor.children[0].pid, 9)

    with pytest.raises(ChildExited, match="db exited with code -9"):
        supervisor.watch()


def test_a_child_that_never_gets_ready_is_reported(tmp_path: Path) -> None:
    silent = ChildSpec("mute", [sys.executable, "-c", "import time; time.sleep(600)"],
                       lambda: False, "http://127.0.0.1:1")  # fmt: skip
    supervisor = Supervisor(tmp_path / "logs", threading.Event(), ready_timeout=0.5)
    try:
        with pytest.raises(ChildNotReady, match="mute not ready"):
            supervisor.start([silent])
    finally:
        supervisor.stop_all()


def test_a_stop_request_during_start_interrupts_it(tmp_path: Path) -> None:
    stopping = threading.Event()
    stopping.set()
    never = ChildSpec("slow", [sys.executable, "-c", "import time; time.sleep(600)"],
                      lambda: False, "http://127.0.0.1:1")  # fmt: skip
    supervisor = Supervisor(tmp_path / "logs", stopping)
    with pytest.raises(StartInterrupted):
        supervisor.start([never])
    pid = supervisor.children[0].pid
    supervisor.stop_all()
    assert not alive(pid)


def test_child_output_goes_to_its_log_file(tmp_path: Path, supervisor: Supervisor) -> None:
    supervisor.start([child(tmp_path, "db")])
    supervisor.stop_all()
    assert "db says hello" in (tmp_path / "logs" / "db.log").read_text()


def test_json_log_lines_are_shortened_for_the_console() -> None:
    line = '{"time":"t","level":"INFO","logger":"x","message":"order confirmed","orderId":"o1"}'
    assert console_text(line) == "INFO order confirmed (orderId=o1)"
    assert console_text("plain text {not json") == "plain text {not json"
