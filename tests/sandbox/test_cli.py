"""The command line: a busy port is one clear error, not a traceback."""

from __future__ import annotations

import socket

import pytest

from sandbox.stripe_api.__main__ import main


def test_a_busy_port_exits_with_status_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        status = main(["--port", str(port)])

    assert status == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
