"""`python -m sandbox.shop` / `payments sandbox shop`: run the reference shop and gateway."""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from pathlib import Path

import uvicorn

from sandbox.shop.app import create_app
from sandbox.shop.seed import PRODUCTS, SEED_PASSWORD, USERS
from sandbox.shop.settings import DEV_JWT_SECRET, ShopSettings
from sandbox.shop.wiring import build_shop


def parse_settings(argv: list[str] | None) -> tuple[ShopSettings, str]:
    parser = argparse.ArgumentParser(
        prog="payments sandbox shop",
        description="Reference shop (auth, inventory, orders) and API gateway for local runs.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000, help="0 picks a free port")
    parser.add_argument("--data-dir", type=Path, help="keep state in SQLite here (else memory)")
    parser.add_argument("--jwt-secret", default=os.environ.get("JWT_SECRET", DEV_JWT_SECRET))
    parser.add_argument(
        "--internal-token",
        default=os.environ.get("INTERNAL_SERVICE_TOKEN"),
        help="require `Authorization: Bearer T` on /internal/*",
    )
    parser.add_argument(
        "--payment-service-url",
        default="http://127.0.0.1:8000",
        help="where the gateway forwards /payments/*",
    )
    parser.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"]
    )
    args = parser.parse_args(argv)
    settings = ShopSettings(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        jwt_secret=args.jwt_secret,
        internal_token=args.internal_token or None,
        payment_service_url=args.payment_service_url.rstrip("/"),
    )
    return settings, args.log_level


def _listen(host: str, port: int) -> socket.socket:
    """Bind before announcing, so the printed URL accepts connections at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def _announce(settings: ShopSettings, url: str) -> None:
    print(json.dumps({"sandbox": "shop", "url": url}), flush=True)
    users = ", ".join(f"{u.email} ({u.role})" for u in USERS)
    print(
        f"shop + gateway on {url} (/payments/* → {settings.payment_service_url}); "
        f"users {users}, password {SEED_PASSWORD}; {len(PRODUCTS)} products; "
        f"state {settings.data_dir or 'in memory'}",
        file=sys.stderr,
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    settings, log_level = parse_settings(argv)
    try:
        sock = _listen(settings.host, settings.port)
    except OSError as error:
        print(f"shop: cannot listen on {settings.host}:{settings.port}: {error}", file=sys.stderr)
        return 1
    app = create_app(build_shop(settings))
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    _announce(settings, f"http://{host}:{sock.getsockname()[1]}")
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=log_level in {"info", "debug"},
        # A delayed (fault-injected) answer must not hold up a stop for long.
        timeout_graceful_shutdown=1,
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
