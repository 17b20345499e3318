"""A bare Litestar JSON endpoint, for the framework's ceiling (issue 15's "bare Litestar").

Run: python bench/bare_app.py PORT plain|service

- `plain`: uvicorn as it runs with no extras and no settings, h11 on asyncio's loop (the
  service's server before issue 15, the issue's 7,100 req/s);
- `service`: uvicorn as `payments serve` runs it (`uvicorn_options` of
  interfaces/cli/serve.py, with the default settings): its httptools protocol with the
  header deadline, uvloop with the blocking-call threads, keep-alive and connection limit.

`GET /health` answers `{"status": "ok"}`: no middleware, no dependencies, no store.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvicorn
from litestar import Litestar, get

from infrastructure.settings import (
    DEFAULT_HTTP_HEADER_TIMEOUT_SECONDS,
    DEFAULT_HTTP_KEEPALIVE_SECONDS,
    DEFAULT_HTTP_MAX_CONNECTIONS,
)
from interfaces.cli.serve import uvicorn_options


@get("/health", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


def app() -> Litestar:
    return Litestar(route_handlers=[health], debug=False, logging_config=None)


def main(port: int, kind: str) -> None:
    if kind == "plain":
        uvicorn.run(app(), host="127.0.0.1", port=port, log_config=None, access_log=False,
                    http="h11", loop="asyncio")  # fmt: skip
        return
    options = uvicorn_options(
        host="127.0.0.1",
        port=port,
        header_timeout=DEFAULT_HTTP_HEADER_TIMEOUT_SECONDS,
        keepalive=DEFAULT_HTTP_KEEPALIVE_SECONDS,
        max_connections=DEFAULT_HTTP_MAX_CONNECTIONS,
    )
    uvicorn.run(app(), **options)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
