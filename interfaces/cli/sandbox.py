"""`payments sandbox stripe|shop`: run the local stand-ins for Stripe and the shop.

The sandboxes are development and test tools; the service itself never imports
them, so they are loaded here only when this command runs.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

SANDBOXES = {
    "stripe": "sandbox.stripe_api.__main__",
    "shop": "sandbox.shop.__main__",
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("sandbox", help="run a local sandbox (stripe, shop)")
    parser.add_argument("name", choices=sorted(SANDBOXES))
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="options of that sandbox")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    module = importlib.import_module(SANDBOXES[args.name])
    result: int = module.main(args.rest)
    return result
