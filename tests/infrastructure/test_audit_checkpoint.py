"""Signed checkpoints: a rewrite that recomputed every hash is still caught."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from application.ledger import PaymentLedger
from domain.money import Money
from domain.payment import payment_id_for
from infrastructure.audit.chain_report import BreakKind
from infrastructure.audit.checkpoint import (
    CheckpointInvalid,
    SealRefused,
    read_checkpoint,
    seal,
    write_checkpoint,
)
from infrastructure.audit.checkpoint_keys import (
    CheckpointKey,
    CheckpointKeyError,
    HmacKey,
    generate_ed25519,
    load_key,
)
from infrastructure.audit.verification import SealedHeads, verify_store
from tests.infrastructure.payment_histories import expired, opened, paid
from tests.infrastructure.store_tampering import (
    ALIASED_SUCCESS_TOPIC,
    StoreTamperer,
    forged_success,
)

NOW = datetime(2026, 11, 28, tzinfo=UTC)


@pytest.fixture
def private_key(tmp_path: Path) -> Path:
    path = tmp_path / "seal.pem"
    generate_ed25519(path)
    return path


@pytest.fixture
def sealed(ledger: PaymentLedger, private_key: Path, tmp_path: Path) -> SealedHeads:
    paid(ledger, "ord_a")
    expired(ledger, "ord_b")
    checkpoint = seal(ledger, load_key(private_key), NOW)
    path = tmp_path / "checkpoint.json"
    write_checkpoint(checkpoint, path)
    public = load_key(private_key.with_name("seal.pem.pub"))
    return read_checkpoint(path, public)


def test_a_checkpoint_holds_every_head_and_the_last_notification(
    ledger: PaymentLedger, sealed: SealedHeads
) -> None:
    assert sealed.last_notification_id == ledger.last_notification_id()
    assert sealed.heads[payment_id_for("ord_a")][0] == 3
    assert sealed.heads[payment_id_for("ord_b")][0] == 5


def test_history_added_after_the_checkpoint_still_verifies(
    ledger: PaymentLedger, sealed: SealedHeads
) -> None:
    paid(ledger, "ord_later")
    payment = ledger.find("ord_b")
    assert payment is not None
    report, _ = verify_store(ledger, sealed)
    assert report.ok, report.sentence()


def test_a_consistent_rewrite_before_the_checkpoint_is_caught(
    ledger: PaymentLedger, sealed: SealedHeads, store_url: str
) -> None:
    StoreTamperer(store_url).rewrite_consistently(
        ledger, payment_id_for("ord_a"), amount=Money(100, "usd")
    )
    assert verify_store(ledger)[0].ok  # the chain alone no longer tells

    report, _ = verify_store(ledger, sealed)

    assert report.first_break is not None
    assert (report.first_break.order_id, report.first_break.version) == ("ord_a", 3)
    assert report.first_break.kind is BreakKind.REWRITTEN


def test_a_truncated_chain_is_caught(
    ledger: PaymentLedger, sealed: SealedHeads, store_url: str
) -> None:
    StoreTamperer(store_url).delete(payment_id_for("ord_b"), 5)
    assert verify_store(ledger)[0].ok  # removing the last event leaves a valid chain

    report, _ = verify_store(ledger, sealed)

    assert report.first_break is not None
    assert (report.first_break.order_id, report.first_break.version) == ("ord_b", 5)


def test_a_whole_payment_deleted_is_caught(
    ledger: PaymentLedger, sealed: SealedHeads, store_url: str
) -> None:
    tamperer = StoreTamperer(store_url)
    for version in (1, 2, 3):
        tamperer.delete(payment_id_for("ord_a"), version)
    report, _ = verify_store(ledger, sealed)
    assert report.first_break is not None
    assert report.first_break.payment_id == str(payment_id_for("ord_a"))


def test_a_tampered_checkpoint_file_is_refused(
    ledger: PaymentLedger, private_key: Path, tmp_path: Path
) -> None:
    paid(ledger, "ord_a")
    path = tmp_path / "checkpoint.json"
    write_checkpoint(seal(ledger, load_key(private_key), NOW), path)
    path.write_text(path.read_text().replace('"version": 3', '"version": 2'))
    with pytest.raises(CheckpointInvalid, match="signature"):
        read_checkpoint(path, load_key(private_key.with_name("seal.pem.pub")))


def test_a_checkpoint_sealed_with_another_key_is_refused(
    ledger: PaymentLedger, private_key: Path, tmp_path: Path
) -> None:
    opened(ledger, "ord_a")
    path = tmp_path / "checkpoint.json"
    write_checkpoint(seal(ledger, load_key(private_key), NOW), path)
    other = tmp_path / "other.pem"
    generate_ed25519(other)
    with pytest.raises(CheckpointInvalid, match="sealed with"):
        read_checkpoint(path, load_key(other))


def test_hmac_keys_seal_and_verify(ledger: PaymentLedger, tmp_path: Path) -> None:
    opened(ledger, "ord_a")
    secret = tmp_path / "hmac.key"
    secret.write_bytes(b"hmac:" + b"k" * 48 + b"\n")
    key: CheckpointKey = load_key(secret)
    assert isinstance(key, HmacKey)
    assert key.key_id == HmacKey(b"k" * 48).key_id  # the prefix is not part of the secret
    path = tmp_path / "checkpoint.json"
    write_checkpoint(seal(ledger, key, NOW), path)
    assert read_checkpoint(path, load_key(secret)).heads


def test_a_short_hmac_secret_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "weak.key"
    secret.write_bytes(b"hmac:password")
    with pytest.raises(CheckpointKeyError, match="at least"):
        load_key(secret)


def test_a_secret_without_the_hmac_prefix_is_not_taken_for_one(tmp_path: Path) -> None:
    secret = tmp_path / "unmarked.key"
    secret.write_bytes(b"k" * 48 + b"\n")
    with pytest.raises(CheckpointKeyError, match=r"not a PEM Ed25519 key.*'hmac:'"):
        load_key(secret)


def test_a_public_key_cannot_seal(ledger: PaymentLedger, private_key: Path) -> None:
    opened(ledger, "ord_a")
    with pytest.raises(CheckpointKeyError, match="public key"):
        seal(ledger, load_key(private_key.with_name("seal.pem.pub")), NOW)


def test_a_broken_store_is_not_sealed(
    ledger: PaymentLedger, private_key: Path, store_url: str
) -> None:
    paid(ledger, "ord_a")
    StoreTamperer(store_url).delete(payment_id_for("ord_a"), 2)
    with pytest.raises(SealRefused, match="ord_a"):
        seal(ledger, load_key(private_key), NOW)


def test_a_store_with_an_event_under_an_aliased_topic_is_not_sealed(
    ledger: PaymentLedger, private_key: Path, store_url: str
) -> None:
    opened(ledger, "ord_a")
    state = forged_success(ledger, "ord_a", intact=True)
    StoreTamperer(store_url).insert(payment_id_for("ord_a"), 2, ALIASED_SUCCESS_TOPIC, state)
    with pytest.raises(SealRefused, match="ord_a"):
        seal(ledger, load_key(private_key), NOW)


def test_an_event_under_an_aliased_topic_after_the_checkpoint_is_caught(
    ledger: PaymentLedger, sealed: SealedHeads, store_url: str
) -> None:
    opened(ledger, "ord_later")
    state = forged_success(ledger, "ord_later", intact=True)
    StoreTamperer(store_url).insert(payment_id_for("ord_later"), 2, ALIASED_SUCCESS_TOPIC, state)

    report, _ = verify_store(ledger, sealed)

    assert report.first_break is not None
    assert (report.first_break.order_id, report.first_break.version) == ("ord_later", 2)
    assert report.first_break.kind is BreakKind.FOREIGN_TOPIC
