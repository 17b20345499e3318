"""Entry point of the `payments` console script.

Each sub-command lives in its own module under `interfaces.cli` and exposes
`register(subparsers)`; the module is listed here so `payments --help` shows
every command without importing heavy dependencies up front.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_MODULES: tuple[str, ...] = (
    "interfaces.cli.serve",
    "interfaces.cli.worker",
    "interfaces.cli.dev",
    "interfaces.cli.projections",
    "interfaces.cli.audit",
    "interfaces.cli.reconcile",
    "interfaces.cli.sandbox",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="payments", description="Payment service")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue  # a command whose module is not part of this build
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
