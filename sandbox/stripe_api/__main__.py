"""`python -m sandbox.stripe_api` / `payments sandbox stripe`: run the Stripe sandbox.

Prints one JSON line on stdout once listening, e.g.
`{"sandbox": "stripe", "url": "http://127.0.0.1:12111", "webhook_secret": "whsec_…"}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import sys
from pathlib import Path

import uvicorn

from sandbox.stripe_api.app import build_app
from sandbox.stripe_api.config import SandboxConfig
from sandbox.stripe_api.state import Sandbox, build_sandbox


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = SandboxConfig(
        host=args.host,
        port=args.port,
        forward_to=list(args.forward_to),
        webhook_secret=args.webhook_secret,
        data_dir=args.data_dir,
        api_key=args.api_key,
        deliver=not args.no_deliver,
        retry_base_seconds=args.retry_base_seconds,
        max_attempts=args.max_attempts,
        public_url=args.public_url,
        refund_settle_seconds=args.refund_settle_seconds,
    )
    try:
        listener = _listen(config.host, config.port)
    except OSError as error:
        print(
            f"stripe sandbox: cannot listen on {config.host}:{config.port}: {error}",
            file=sys.stderr,
        )
        return 1
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    return asyncio.run(_serve(build_sandbox(config), listener))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="payments sandbox stripe", description="Local stand-in for the Stripe API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111, help="0 picks a free port")
    parser.add_argument(
        "--forward-to",
        action="append",
        default=[],
        metavar="URL",
        help="webhook endpoint (repeatable), like `stripe listen`",
    )
    parser.add_argument("--webhook-secret", help="whsec_… (default: generated, kept per data dir)")
    parser.add_argument("--data-dir", type=Path, help="keep state in SQLite here (default: memory)")
    parser.add_argument("--api-key", help="accept only this key (default: any sk_test_…)")
    parser.add_argument("--no-deliver", action="store_true", help="start with delivery off")
    parser.add_argument(
        "--retry-base-seconds",
        type=float,
        default=2.0,
        help="first retry delay; doubles on each failed attempt",
    )
    parser.add_argument("--max-attempts", type=int, default=8, help="delivery attempts per event")
    parser.add_argument("--public-url", help="base URL customers' browsers use for the pages")
    parser.add_argument(
        "--refund-settle-seconds",
        type=float,
        default=30.0,
        help="when a refund test card's later outcome comes (sandbox clock)",
    )
    return parser


def _listen(host: str, port: int) -> socket.socket:
    """Bind before serving, so `--port 0` works and the real port is known."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    return listener


async def _serve(sandbox: Sandbox, listener: socket.socket) -> int:
    server = uvicorn.Server(uvicorn.Config(build_app(sandbox), log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    # uvicorn offers no "started" event to await, only a flag.
    while not server.started and not serving.done():  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    if serving.done():
        return 1
    _announce(sandbox, listener)
    await serving
    sandbox.store.close()
    return 0


def _announce(sandbox: Sandbox, listener: socket.socket) -> None:
    host, port = listener.getsockname()[:2]
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    line = {
        "sandbox": "stripe",
        "url": url,
        "webhook_secret": sandbox.webhook_secret,
        "forward_to": sandbox.events.endpoints,
        "delivery_enabled": sandbox.delivery_enabled,
    }
    print(json.dumps(line), flush=True)
    targets = ", ".join(sandbox.events.endpoints) or "no endpoint"
    print(
        f"Stripe sandbox ready at {url} (STRIPE_API_BASE={url}); webhooks to {targets}, "
        f"signed with {sandbox.webhook_secret}",
        file=sys.stderr,
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
