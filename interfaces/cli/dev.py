"""`payments dev`: the payment service with everything it talks to, on one machine.

Starts, as child processes: a MongoDB-compatible read model (SecantusDB, unless
`MONGODB_URI` names a server), the Stripe sandbox forwarding signed webhooks to
the service, the payment service, and the reference shop with its gateway.
Ctrl-C (or SIGTERM) stops them all, in reverse order.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from interfaces.cli.sandbox import NOT_INSTALLED
from interfaces.dev_stack import dev_secrets
from interfaces.dev_stack.banner import ready_banner
from interfaces.dev_stack.children import ChildSpec
from interfaces.dev_stack.plan import DevOptions, build_plan, mongo_uri
from interfaces.dev_stack.service_env_file import write_service_env
from interfaces.dev_stack.supervisor import StackError, StartInterrupted, Supervisor


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dev", help="run the whole system locally (shop, gateway, service, Stripe sandbox, DB)"
    )
    parser.add_argument("--data-dir", type=Path, default=Path("var"), help="state and logs")
    parser.add_argument("--gateway-port", type=int, default=3000)
    parser.add_argument("--service-port", type=int, default=8000)
    parser.add_argument("--stripe-port", type=int, default=12111)
    parser.add_argument("--mongo-port", type=int, default=27017, help="for the local SecantusDB")
    parser.add_argument(
        "--mongodb-uri", default=os.environ.get("MONGODB_URI") or None,
        help="use this MongoDB instead of starting SecantusDB (default: $MONGODB_URI)",
    )  # fmt: skip
    parser.add_argument("--event-store-url", help="default: sqlite:///<data dir>/payments.db")
    parser.add_argument(
        "--real-stripe", action="store_true",
        help="no sandbox: use $STRIPE_SECRET_KEY and $STRIPE_WEBHOOK_SECRET (stripe listen)",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="children's output only to logs")
    parser.set_defaults(run=run)


def _options(args: argparse.Namespace) -> DevOptions:
    return DevOptions(
        data_dir=args.data_dir.resolve(),
        gateway_port=args.gateway_port,
        service_port=args.service_port,
        stripe_port=args.stripe_port,
        mongo_port=args.mongo_port,
        mongodb_uri=args.mongodb_uri,
        event_store_url=args.event_store_url,
        real_stripe_key=os.environ.get("STRIPE_SECRET_KEY", "") if args.real_stripe else None,
        real_webhook_secret=os.environ.get("STRIPE_WEBHOOK_SECRET"),
    )


def _busy_ports(plan: list[ChildSpec]) -> list[str]:
    busy = []
    for spec in plan:
        port = int(spec.url.rsplit(":", 1)[1].split("/", 1)[0].split("?", 1)[0])
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                busy.append(f"{spec.name} needs port {port}, which is in use")
    return busy


def _stop_on_signals(stopping: threading.Event) -> None:
    def handle(signum: int, _frame: object) -> None:
        print(f"\n{signal.Signals(signum).name}: stopping…", file=sys.stderr, flush=True)
        stopping.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def _check(options: DevOptions, plan: list[ChildSpec]) -> str | None:
    if options.real_stripe_key is not None and not (
        options.real_stripe_key.startswith("sk_test_") and options.real_webhook_secret
    ):
        return "--real-stripe needs STRIPE_SECRET_KEY=sk_test_… and STRIPE_WEBHOOK_SECRET=whsec_…"
    if importlib.util.find_spec("sandbox") is None:
        return NOT_INSTALLED
    if any(spec.name == "mongo" for spec in plan) and importlib.util.find_spec("secantus") is None:
        return "no MongoDB: set MONGODB_URI, or pip install -e '.[dev]' for SecantusDB"
    busy = _busy_ports(plan)
    return "; ".join(busy) + " (choose others with --*-port)" if busy else None


def run(args: argparse.Namespace) -> int:
    options = _options(args)
    plan = build_plan(options, dev_secrets.load_or_create(options.data_dir))
    problem = _check(options, plan)
    if problem:
        print(f"payments dev: {problem}", file=sys.stderr)
        return 2
    env_file = write_service_env(plan, options.data_dir)
    stopping = threading.Event()
    _stop_on_signals(stopping)
    echo = None if args.quiet else sys.stderr
    supervisor = Supervisor(options.data_dir / "logs", stopping, echo)
    try:
        supervisor.start(plan)
        print(ready_banner(plan, options.data_dir, mongo_uri(options), env_file), flush=True)
        supervisor.watch()
        return 0
    except StartInterrupted:
        return 0
    except StackError as error:
        print(f"payments dev: {error}\n{error.child.log_tail()}", file=sys.stderr, flush=True)
        return 1
    finally:
        supervisor.stop_all()
        print("payments dev: stopped", file=sys.stderr, flush=True)
