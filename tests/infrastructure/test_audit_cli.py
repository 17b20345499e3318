"""`payments audit …` run as a process, as an auditor runs it."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from application.ledger import PaymentLedger
from domain.payment import payment_id_for
from infrastructure.audit.checkpoint import seal, write_checkpoint
from infrastructure.audit.checkpoint_keys import HmacKey
from infrastructure.event_store.store import event_store_env
from tests.infrastructure.payment_histories import (
    START,
    dispute_lost,
    expired,
    paid,
    recorded_at,
    refund_failed,
)
from tests.infrastructure.store_tampering import StoreTamperer

PAYMENTS = str(Path(sys.executable).with_name("payments"))


def payments(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PAYMENTS, *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def history(ledger: PaymentLedger) -> PaymentLedger:
    paid(ledger, "ord_a")
    expired(ledger, "ord_b")
    return ledger


def test_verify_passes_on_an_untouched_store(history: PaymentLedger, store_url: str) -> None:
    result = payments("audit", "verify", "--store", store_url)
    assert result.returncode == 0, result.stderr
    assert "chain intact: 8 events of 2 payments" in result.stdout


def test_verify_names_the_altered_payment_and_version(
    history: PaymentLedger, store_url: str
) -> None:
    tamperer = StoreTamperer(store_url)
    payment_id = payment_id_for("ord_b")
    tamperer.set_state(payment_id, 1, tamperer.state(payment_id, 1).replace(b"20498", b"98", 1))

    human = payments("audit", "verify", "--store", store_url)
    machine = payments("audit", "verify", "--json", "--store", store_url)

    assert human.returncode == machine.returncode == 1
    assert human.stdout.count("\n") == 1
    assert "order ord_b" in human.stdout and "version 1" in human.stdout
    report = json.loads(machine.stdout)
    assert report["ok"] is False
    assert report["firstBreak"]["orderId"] == "ord_b"
    assert report["firstBreak"]["paymentId"] == str(payment_id)
    assert report["firstBreak"]["version"] == 1


def test_seal_then_verify_catches_a_consistent_rewrite(
    history: PaymentLedger, store_url: str, tmp_path: Path
) -> None:
    key, checkpoint = tmp_path / "seal.pem", tmp_path / "checkpoint.json"
    assert payments("audit", "keygen", "--key-file", str(key)).returncode == 0
    sealed = payments(
        "audit", "seal", "--key-file", str(key), "--out", str(checkpoint), "--store", store_url
    )
    assert sealed.returncode == 0, sealed.stderr
    from domain.money import Money

    StoreTamperer(store_url).rewrite_consistently(
        history, payment_id_for("ord_a"), amount=Money(1, "usd")
    )
    public = str(key.with_name("seal.pem.pub"))

    plain = payments("audit", "verify", "--store", store_url)
    against = payments(
        "audit",
        "verify",
        "--checkpoint",
        str(checkpoint),
        "--key-file",
        public,
        "--store",
        store_url,
    )

    assert plain.returncode == 0
    assert against.returncode == 1
    assert "order ord_a" in against.stdout and "checkpoint" in against.stdout


def test_show_prints_the_state_at_a_version(history: PaymentLedger, store_url: str) -> None:
    at_one = payments("audit", "show", "ord_a", "--version", "1", "--json", "--store", store_url)
    at_two = payments("audit", "show", "ord_a", "--version", "2", "--store", store_url)
    assert json.loads(at_one.stdout)["status"] == "INITIATED"
    assert "status SUCCESS  amount 204.98 USD" in at_two.stdout
    assert payments("audit", "show", "ord_zz", "--store", store_url).returncode == 1


def test_show_prints_the_state_at_a_time(history: PaymentLedger, store_url: str) -> None:
    # Initiated is stamped START; the later events are stamped with the wall clock.
    opened_then = payments(
        "audit", "show", "ord_a", "--at", START.isoformat(), "--json", "--store", store_url
    )
    now = payments(
        "audit", "show", "ord_a", "--at", datetime.now(UTC).isoformat(), "--json",
        "--store", store_url,
    )  # fmt: skip
    before = (START - timedelta(minutes=1)).isoformat()
    too_early = payments("audit", "show", "ord_a", "--at", before, "--store", store_url)

    assert opened_then.returncode == 0, opened_then.stderr
    assert json.loads(opened_then.stdout)["status"] == "INITIATED"
    assert json.loads(now.stdout)["status"] == "SUCCESS"
    current = history.find("ord_a")
    assert current is not None and json.loads(now.stdout)["version"] == current.version
    assert too_early.returncode == 1


def test_show_prints_refunds_and_the_dispute_as_they_stood(
    ledger: PaymentLedger, store_url: str
) -> None:
    refund_failed(ledger, "ord_r")
    dispute_lost(ledger, "ord_d")
    sent, opened = recorded_at(ledger, "ord_r", 5), recorded_at(ledger, "ord_d", 4)

    refund_then = payments("audit", "show", "ord_r", "--at", sent.isoformat(), "--store", store_url)
    refund_now = payments("audit", "show", "ord_r", "--store", store_url)
    dispute_then = payments(
        "audit", "show", "ord_d", "--at", opened.isoformat(), "--json", "--store", store_url
    )
    dispute_now = payments("audit", "show", "ord_d", "--store", store_url)

    assert refund_then.returncode == 0, refund_then.stderr
    assert "status PARTIALLY_REFUNDED" in refund_then.stdout
    assert "refunded 50.00 USD  refundable 154.98 USD" in refund_then.stdout
    assert (
        "refund rf_ord_r  50.00 USD  pending  (ordered by admin_1, requested_by_customer, re_ord_r)"
        in refund_then.stdout
    )
    assert "refund rf_ord_r  50.00 USD  failed" in refund_now.stdout
    assert "refunded 0.00 USD  refundable 204.98 USD  owed back 0.00 USD" in refund_now.stdout
    assert "dispute" not in refund_now.stdout
    shown = json.loads(dispute_then.stdout)
    assert (shown["version"], shown["refundedAmount"], shown["refunds"]) == (4, "0.00", [])
    assert shown["dispute"] == {
        "disputeId": "dp_ord_d", "amount": "204.98", "reason": "fraudulent",
        "status": "needs_response",
    }  # fmt: skip
    assert "dispute dp_ord_d  204.98 USD  lost  (fraudulent)" in dispute_now.stdout
    assert "status REFUNDED" in dispute_now.stdout


def test_export_csv_has_one_row_per_event(
    history: PaymentLedger, store_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "history.csv"
    result = payments("audit", "export", "--format", "csv", "--out", str(out), "--store", store_url)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == history.last_notification_id()
    assert [r["statusAfter"] for r in rows if r["orderId"] == "ord_b"][-1] == "FAILED"
    charged = sum(Decimal(r["amount"]) for r in rows if r["type"] == "Initiated")
    expected = [history.find(order_id) for order_id in ("ord_a", "ord_b")]
    assert charged == sum(p.amount.to_major() for p in expected if p is not None)


def test_a_missing_store_is_an_error_not_an_empty_pass(tmp_path: Path) -> None:
    result = payments("audit", "verify", "--store", f"sqlite:///{tmp_path / 'nope.db'}")
    assert result.returncode == 2
    assert "no event store" in result.stderr


def test_until_a_date_includes_that_whole_day(history: PaymentLedger, store_url: str) -> None:
    day = START.date().isoformat()  # both payments were opened at noon that day
    result = payments("audit", "export", "--since", day, "--until", day, "--store", store_url)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted((row["orderId"], row["type"]) for row in rows) == [
        ("ord_a", "Initiated"),
        ("ord_b", "Initiated"),
    ]


def test_export_into_a_reader_that_stops_early_ends_without_a_traceback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'many.db'}"
    ledger = PaymentLedger(event_store_env(url))
    for number in range(120):  # well over a pipe's 64 KiB of rows
        paid(ledger, f"ord_{number:03d}")
    ledger.close()
    export = subprocess.Popen(
        [PAYMENTS, "audit", "export", "--store", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert export.stdout is not None and export.stderr is not None
    assert export.stdout.readline()  # `| head -1`: read a line, then go away
    export.stdout.close()
    errors = export.stderr.read().decode()
    export.wait(timeout=60)
    assert "Traceback" not in errors and "BrokenPipeError" not in errors, errors
    assert export.returncode == 141  # as if killed by SIGPIPE, like `cat`; never 0


def openssh(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)


def raw_hex(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex().encode()


@pytest.mark.parametrize("written_as", [openssh, raw_hex])
def test_a_public_key_that_is_not_pem_ed25519_is_refused_not_taken_for_an_hmac_secret(
    history: PaymentLedger,
    store_url: str,
    tmp_path: Path,
    written_as: Callable[[Ed25519PublicKey], bytes],
) -> None:
    """Whoever holds the auditor's public key could otherwise seal checkpoints it accepts."""
    public_file = tmp_path / "audit.pub"
    public_file.write_bytes(written_as(Ed25519PrivateKey.generate().public_key()) + b"\n")
    forged = tmp_path / "forged.json"
    as_secret = HmacKey(public_file.read_bytes().strip())
    write_checkpoint(seal(history, as_secret, datetime.now(UTC)), forged)

    result = payments(
        "audit",
        "verify",
        "--checkpoint",
        str(forged),
        "--key-file",
        str(public_file),
        "--store",
        store_url,
    )

    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert f"key file {public_file} is not a PEM Ed25519 key" in result.stderr
    assert "hmac:" in result.stderr


def test_an_hmac_secret_file_marked_hmac_seals_and_verifies(
    history: PaymentLedger, store_url: str, tmp_path: Path
) -> None:
    secret, checkpoint = tmp_path / "audit.secret", tmp_path / "checkpoint.json"
    secret.write_text("hmac:" + "s" * 40 + "\n")

    sealed = payments(
        "audit", "seal", "--key-file", str(secret), "--out", str(checkpoint), "--store", store_url
    )
    verified = payments(
        "audit",
        "verify",
        "--checkpoint",
        str(checkpoint),
        "--key-file",
        str(secret),
        "--store",
        store_url,
    )

    assert sealed.returncode == 0, sealed.stderr
    assert "hmac-sha256" in sealed.stderr
    assert verified.returncode == 0, verified.stderr
    assert "consistent with checkpoint" in verified.stdout
