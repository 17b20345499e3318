"""`payments sandbox stripe|shop`: run the local stand-ins for Stripe and the shop.

The sandboxes are development and test tools, a distribution of their own that a
production install never has (ADR 0020); the service itself never imports them, so
they are loaded here only when this command runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

SANDBOXES = {
    "stripe": "sandbox.stripe_api.__main__",
    "shop": "sandbox.shop.__main__",
}
NOT_INSTALLED = (
    "the sandboxes are not installed here: a checkout's dev install has them "
    "(pip install -e '.[dev]'), or pip install ./sandbox beside the service"
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("sandbox", help="run a local sandbox (stripe, shop)")
    parser.add_argument("name", choices=sorted(SANDBOXES))
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="options of that sandbox")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        module = importlib.import_module(SANDBOXES[args.name])
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] != "sandbox":
            raise  # a sandbox is there, something it imports is not
        print(f"payments sandbox: {NOT_INSTALLED}", file=sys.stderr)
        return 2
    result: int = module.main(args.rest)
    return result
