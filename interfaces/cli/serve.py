"""`payments serve`: the HTTP API on a production ASGI server (ADR 0005).

Settings are checked before anything starts: a missing or malformed one is
printed as one line on stderr and the command exits with status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interfaces.cli.startup import StartupFailed, add_env_file_option, starting

if TYPE_CHECKING:
    from types import FrameType

    from litestar import Litestar

    from infrastructure.settings import Settings

SERVERS = ("granian", "uvicorn")
DEFAULT_SERVER = "uvicorn"  # ADR 0005
# On SIGTERM, requests in flight get this long to finish before they are cancelled; then
# the background workers stop (the effect calls in flight get up to 20 s more).
HTTP_DRAIN_SECONDS = 10
HTTP_ONLY = "PAYMENTS_SERVE_HTTP_ONLY"  # set by --http-only for the app factory
# Threads for blocking calls (store, MongoDB): threads waiting on a disk or a socket cost
# little, and too few make requests queue behind background work (`uvloop_with_threads`).
BLOCKING_CALL_THREADS = 64


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("serve", help="run the HTTP API on PORT")
    parser.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")  # noqa: S104
    parser.add_argument("--server", choices=SERVERS, default=DEFAULT_SERVER)
    parser.add_argument(
        "--http-only",
        action="store_true",
        help="the API alone: the effects queue, reconciliation and status projection run "
        "in `payments worker` processes",
    )
    add_env_file_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        with starting("serve", args.env_file) as settings:
            if args.http_only:
                os.environ[HTTP_ONLY] = "1"  # granian's worker process builds the app again
            if args.server == "granian":
                _serve_with_granian(settings, args.host, args.env_file)
            else:
                _serve_with_uvicorn(app_for(settings), settings, args.host)
    except StartupFailed as failure:
        return failure.report()
    return 0


def app_for(settings: Settings) -> Litestar:
    from interfaces.app import create_app  # noqa: PLC0415
    from interfaces.composition import bootstrap  # noqa: PLC0415

    # HTTP only: no background workers in this process (`payments worker` runs them).
    workers: list[Any] | None = [] if os.environ.get(HTTP_ONLY) == "1" else None
    return create_app(bootstrap(settings, workers=workers))


def app_from_environment() -> Litestar:
    """Factory for servers that build the app in their own worker process (granian)."""
    from infrastructure.settings import Settings  # noqa: PLC0415
    from infrastructure.structured_logging import configure_logging  # noqa: PLC0415

    settings = Settings.from_environment()
    configure_logging(settings.log_level)
    return app_for(settings)


def _serve_with_uvicorn(app: Litestar, settings: Settings, host: str) -> None:
    import uvicorn  # noqa: PLC0415

    # On SIGTERM uvicorn stops accepting, lets the requests in flight finish, runs the
    # lifespan's shutdown (the background workers), then raises SIGTERM again under the
    # handler it found, to die of it (exit 143). A stop the orchestrator asked for and
    # that completed is a success: under this handler the re-raise is ignored (exit 0).
    signal.signal(signal.SIGTERM, _stopped_as_asked)
    uvicorn.run(
        app,
        **uvicorn_options(
            host=host,
            port=settings.port,
            header_timeout=settings.http_header_timeout_seconds,
            keepalive=settings.http_keepalive_seconds,
            max_connections=settings.http_max_connections,
        ),
    )


def uvicorn_options(
    *, host: str, port: int, header_timeout: float, keepalive: int, max_connections: int
) -> dict[str, Any]:
    """How `payments serve` runs uvicorn (bench/bare_app.py serves a bare app the same way)."""
    from interfaces.cli.header_deadline import httptools_with_header_deadline  # noqa: PLC0415

    # log_config=None keeps our JSON handler; one process, because the app's lifespan
    # runs the background workers (ADR 0005). uvicorn has no header-read timeout of its
    # own: its protocol gets one; over `limit_concurrency` connections it answers 503.
    return {
        "host": host,
        "port": port,
        "log_config": None,
        "access_log": False,
        "lifespan": "on",
        "server_header": False,
        # httptools' C parser on uvloop's loop (issue 15), with the header deadline uvicorn lacks.
        "http": httptools_with_header_deadline(header_timeout),
        "loop": "interfaces.cli.serve:uvloop_with_threads",
        "timeout_keep_alive": keepalive,
        "limit_concurrency": max_connections,
        "timeout_graceful_shutdown": HTTP_DRAIN_SECONDS,
    }


def uvloop_with_threads() -> asyncio.AbstractEventLoop:
    """uvicorn's loop factory: uvloop, with `BLOCKING_CALL_THREADS` for the store's and
    MongoDB's blocking calls. asyncio's default pool has min(32, cores + 4) threads: 6 on
    two cores, shared by the webhooks, up to `EFFECT_CONCURRENCY` effect attempts and the
    log followers, so a webhook waited in the pool's queue behind effect work (issue 15)."""
    import uvloop  # noqa: PLC0415

    loop = uvloop.new_event_loop()
    loop.set_default_executor(ThreadPoolExecutor(BLOCKING_CALL_THREADS, "blocking"))
    return loop


def _stopped_as_asked(signum: int, frame: FrameType | None) -> None:
    """uvicorn's own handler replaces this one while it serves; it only sees the re-raise."""


def _serve_with_granian(settings: Settings, host: str, env_file: Path) -> None:
    from granian.constants import Interfaces  # noqa: PLC0415
    from granian.http import HTTP1Settings  # noqa: PLC0415
    from granian.server import Server  # noqa: PLC0415

    from infrastructure.structured_logging import logging_dict_config  # noqa: PLC0415

    Server(
        "interfaces.cli.serve:app_from_environment",
        address=host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=1,
        factory=True,
        log_access=False,
        log_dictconfig=logging_dict_config(settings.log_level),
        env_files=[env_file] if env_file.is_file() else None,
        # One timer for both: an idle kept-alive connection is waiting for headers too,
        # so granian closes it after the header timeout (it has no keep-alive timer).
        http1_settings=HTTP1Settings(
            header_read_timeout=settings.http_header_timeout_seconds * 1000
        ),
        # Connections served at once; the rest wait in the listen backlog.
        backpressure=settings.http_max_connections,
    ).serve()
