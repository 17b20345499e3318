"""Signed checkpoints: every payment's chain head at a notification id, sealed by a key.

A verify that passes only proves each chain is self-consistent; someone with
write access could rewrite a payment and recompute every hash after it. A
checkpoint kept outside the store (and signed) pins the heads as they were, so
a later verify against it shows any history rewritten, removed or inserted
before it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import msgspec

from application.ledger import PaymentLedger
from infrastructure.audit.chain_report import ChainHead, VerificationReport
from infrastructure.audit.checkpoint_keys import CheckpointKey
from infrastructure.audit.verification import Progress, SealedHeads, verify_store

FORMAT = "payments-audit-checkpoint/1"


class CheckpointInvalid(Exception):
    """The checkpoint file is malformed, or its signature does not hold."""


class Checkpoint(msgspec.Struct, rename="camel"):
    """The signed content of a checkpoint file (JSON)."""

    format: str
    created_at: datetime
    last_notification_id: int
    algorithm: str
    key_id: str
    heads: list[ChainHead]
    signature: str = ""

    def content(self) -> bytes:
        """The canonical bytes that are signed: everything but the signature."""
        unsigned = msgspec.structs.replace(self, signature="")
        return msgspec.json.encode(unsigned, order="sorted")


class SealRefused(Exception):
    """The store's chain is already broken: sealing it would vouch for tampered history."""

    def __init__(self, report: VerificationReport) -> None:
        super().__init__(report.sentence())
        self.report = report


def seal(
    ledger: PaymentLedger, key: CheckpointKey, at: datetime, progress: Progress | None = None
) -> Checkpoint:
    """Verifies the store up to its last notification, then signs every chain head."""
    last = ledger.last_notification_id()
    report, verifier = verify_store(ledger, stop=last, progress=progress, keep_heads=True)
    if not report.ok:
        raise SealRefused(report)
    heads = [
        ChainHead(str(payment_id), version, chain_hash)
        for payment_id, (version, chain_hash) in sorted(verifier.heads.items())
    ]
    checkpoint = Checkpoint(FORMAT, at, last, key.algorithm, key.key_id, heads)
    checkpoint.signature = key.sign(checkpoint.content())
    return checkpoint


def write_checkpoint(checkpoint: Checkpoint, path: Path) -> None:
    path.write_bytes(msgspec.json.format(msgspec.json.encode(checkpoint), indent=1) + b"\n")


def read_checkpoint(path: Path, key: CheckpointKey) -> SealedHeads:
    """Loads a checkpoint and checks its signature with `key`."""
    try:
        checkpoint = msgspec.json.decode(path.read_bytes(), type=Checkpoint)
    except OSError as error:
        raise CheckpointInvalid(f"cannot read checkpoint {path}: {error.strerror}") from error
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise CheckpointInvalid(f"checkpoint {path} is malformed: {error}") from error
    if checkpoint.format != FORMAT:
        raise CheckpointInvalid(f"checkpoint {path} has unknown format {checkpoint.format!r}")
    if checkpoint.algorithm != key.algorithm or checkpoint.key_id != key.key_id:
        raise CheckpointInvalid(
            f"checkpoint {path} was sealed with {checkpoint.algorithm} key {checkpoint.key_id}, "
            f"not with the given {key.algorithm} key {key.key_id}"
        )
    if not key.verify(checkpoint.content(), checkpoint.signature):
        raise CheckpointInvalid(f"checkpoint {path}: signature does not match its content")
    return SealedHeads(checkpoint.heads, checkpoint.last_notification_id, path.name)
