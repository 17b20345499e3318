"""`payments audit verify|seal|keygen|show|export`: the auditor's commands.

Exit codes: 0 all good; 1 the chain is broken or a checkpoint does not hold;
2 the command could not run (bad arguments, store or key unavailable).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import msgspec

from infrastructure.audit.as_of import NothingRecordedThen, PaymentState, payment_as_of
from infrastructure.audit.checkpoint import (
    CheckpointInvalid,
    SealRefused,
    read_checkpoint,
    seal,
    write_checkpoint,
)
from infrastructure.audit.checkpoint_keys import CheckpointKeyError, generate_ed25519, load_key
from infrastructure.audit.export import FORMATS, export_rows, write_rows
from infrastructure.audit.verification import SealedHeads, verify_store
from interfaces.cli.closed_pipe import quiet_when_the_reader_stops
from interfaces.cli.event_store_option import StoreUnavailable, add_store_option, open_ledger
from interfaces.cli.progress import notification_progress

BROKEN, CANNOT_RUN = 1, 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("audit", help="verify, seal, replay and export the history")
    commands = parser.add_subparsers(dest="audit_command", required=True)
    _register_verify(commands)
    _register_seal(commands)
    _register_show(commands)
    _register_export(commands)


def _register_verify(commands: Any) -> None:
    verify = commands.add_parser("verify", help="check every payment's hash chain")
    verify.add_argument("--json", action="store_true", help="print a JSON report")
    verify.add_argument("--checkpoint", type=Path, help="also check against a sealed checkpoint")
    verify.add_argument(
        "--key-file",
        type=Path,
        help="Ed25519 public key (PEM) of the sealer, or its HMAC secret file (hmac:…)",
    )
    add_store_option(verify)
    verify.set_defaults(run=run_verify)


def _register_seal(commands: Any) -> None:
    sealer = commands.add_parser("seal", help="write a signed checkpoint of every chain head")
    sealer.add_argument(
        "--key-file",
        type=Path,
        required=True,
        help="Ed25519 private key (PEM), or an HMAC secret file starting with hmac:",
    )
    sealer.add_argument("--out", type=Path, help="checkpoint file (default: stdout)")
    add_store_option(sealer)
    sealer.set_defaults(run=run_seal)
    keygen = commands.add_parser("keygen", help="create an Ed25519 key pair for sealing")
    keygen.add_argument("--key-file", type=Path, required=True, help="private key to create")
    keygen.set_defaults(run=run_keygen)


def _register_show(commands: Any) -> None:
    show = commands.add_parser("show", help="a payment as it stood at a time or version")
    show.add_argument("order_id")
    when = show.add_mutually_exclusive_group()
    when.add_argument("--at", type=_instant, help="ISO 8601 time (UTC if no offset)")
    when.add_argument("--version", type=int)
    show.add_argument("--json", action="store_true")
    add_store_option(show)
    show.set_defaults(run=run_show)


def _register_export(commands: Any) -> None:
    export = commands.add_parser("export", help="one row per event, JSON lines or CSV")
    export.add_argument("--since", type=_instant, help="first time included (ISO 8601)")
    export.add_argument(
        "--until", type=_until, help="last time included (ISO 8601; a date: its whole day)"
    )
    export.add_argument("--format", choices=FORMATS, default="jsonl")
    export.add_argument("--out", type=Path, help="file to write (default: stdout)")
    add_store_option(export)
    export.set_defaults(run=run_export)


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _until(text: str) -> datetime:
    """A time as given; a date alone means the end of that day (its last microsecond)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return _instant(text)
    return datetime.combine(day + timedelta(days=1), time.min, UTC) - timedelta(microseconds=1)


def _fail(message: str, code: int = CANNOT_RUN) -> int:
    print(f"payments audit: {message}", file=sys.stderr)
    return code


@quiet_when_the_reader_stops
def run_verify(args: argparse.Namespace) -> int:
    try:
        sealed = _sealed_heads(args)
        with open_ledger(args) as ledger:
            last = ledger.last_notification_id()
            with notification_progress("verifying", last) as progress:
                report, _ = verify_store(ledger, sealed, stop=last, progress=progress)
    except CheckpointInvalid as error:
        return _fail(str(error), BROKEN)
    except (StoreUnavailable, CheckpointKeyError) as error:
        return _fail(str(error))
    if args.json:
        print(msgspec.json.encode(report).decode())
    else:
        print(report.sentence())
    return 0 if report.ok else BROKEN


def _sealed_heads(args: argparse.Namespace) -> SealedHeads | None:
    if args.checkpoint is None:
        return None
    if args.key_file is None:
        raise CheckpointKeyError("--checkpoint needs --key-file (the public key that sealed it)")
    return read_checkpoint(args.checkpoint, load_key(args.key_file))


@quiet_when_the_reader_stops
def run_seal(args: argparse.Namespace) -> int:
    try:
        key = load_key(args.key_file)
        with open_ledger(args) as ledger:
            last = ledger.last_notification_id()
            with notification_progress("sealing", last) as progress:
                checkpoint = seal(ledger, key, datetime.now(UTC), progress)
    except SealRefused as error:
        return _fail(f"refusing to seal a broken chain: {error}", BROKEN)
    except (StoreUnavailable, CheckpointKeyError) as error:
        return _fail(str(error))
    if args.out is None:
        sys.stdout.write(msgspec.json.encode(checkpoint).decode() + "\n")
    else:
        write_checkpoint(checkpoint, args.out)
    print(
        f"sealed {len(checkpoint.heads)} payments up to notification "
        f"{checkpoint.last_notification_id} with {key.algorithm} key {key.key_id}",
        file=sys.stderr,
    )
    return 0


def run_keygen(args: argparse.Namespace) -> int:
    try:
        public = generate_ed25519(args.key_file)
    except FileExistsError:
        return _fail(f"{args.key_file} already exists; not overwriting a key")
    print(f"private key {args.key_file} (keep it secret), public key {public} (give to auditors)")
    return 0


@quiet_when_the_reader_stops
def run_show(args: argparse.Namespace) -> int:
    try:
        with open_ledger(args) as ledger:
            state = payment_as_of(ledger, args.order_id, version=args.version, at=args.at)
    except StoreUnavailable as error:
        return _fail(str(error))
    except NothingRecordedThen as error:
        return _fail(str(error), BROKEN)
    if args.json:
        print(msgspec.json.encode(state).decode())
    else:
        _print_state(state)
    return 0


def _print_state(state: PaymentState) -> None:
    currency = state.currency.upper()
    print(f"order {state.order_id}  payment {state.payment_id}")
    print(f"version {state.version}  recorded {state.recorded_at.isoformat()}")
    print(f"status {state.status}  amount {state.amount} {currency}")
    print(f"session {state.session_id}  expires {state.expires_at.isoformat()}")
    print(
        f"refunded {state.refunded_amount} {currency}  refundable {state.refundable} {currency}"
        f"  owed back {state.refund_owed} {currency}"
    )
    for refund in state.refunds:
        origin = f"{refund.origin} by {refund.ordered_by}" if refund.ordered_by else refund.origin
        about = ", ".join(part for part in (origin, refund.reason, refund.stripe_refund_id) if part)
        print(f"refund {refund.refund_id}  {refund.amount} {currency}  {refund.status}  ({about})")
    if state.dispute is not None:
        dispute = state.dispute
        print(
            f"dispute {dispute.dispute_id}  {dispute.amount} {currency}  {dispute.status}"
            f"  ({dispute.reason})"
        )
    for name, value in state.facts.items():
        print(f"  {name}: {value}")


@quiet_when_the_reader_stops
def run_export(args: argparse.Namespace) -> int:
    try:
        with open_ledger(args) as ledger:
            last = ledger.last_notification_id()
            out = args.out.open("w", newline="") if args.out else sys.stdout
            try:
                with notification_progress("exporting", last) as progress:
                    rows = export_rows(ledger, args.since, args.until, progress)
                    count = write_rows(rows, out, args.format)
            finally:
                if args.out:
                    out.close()
    except StoreUnavailable as error:
        return _fail(str(error))
    print(f"exported {count} events", file=sys.stderr)
    return 0
