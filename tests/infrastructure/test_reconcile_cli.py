"""`payments reconcile` run as a process against the Stripe sandbox with delivery off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from application.ledger import PaymentLedger
from application.ports import CheckoutRequest
from domain.lifecycle import PaymentStatus
from domain.payment import Payment
from infrastructure.stripe.checkout_gateway import StripeCheckoutGateway
from tests.fakes import FixedClock, an_order
from tests.fixtures.stripe_sandbox import StripeSandboxFactory

PAYMENTS = str(Path(sys.executable).with_name("payments"))


async def test_reconcile_dry_run_then_apply_then_nothing(
    ledger: PaymentLedger,
    store_url: str,
    stripe_sandbox_factory: StripeSandboxFactory,
    tmp_path: Path,
) -> None:
    stripe = stripe_sandbox_factory(deliver=False)
    gateway = StripeCheckoutGateway(
        stripe.api_key, api_base=stripe.url, frontend_url="http://shop.test",
        clock=FixedClock(datetime.now(UTC)), max_network_retries=0,
    )  # fmt: skip
    order = an_order("ord_cli_1")
    session = await gateway.open_session(CheckoutRequest(order, "b@example.com", "checkout:1"))
    await gateway.aclose()
    ledger.record(Payment.initiate(
        order, "b@example.com", session.session_id, session.url, session.expires_at,
        at=datetime.now(UTC),
    ))  # fmt: skip
    assert stripe.pay(session.session_id)["result"] == "paid"
    env = {
        **os.environ, **stripe.service_env(),
        "EVENT_STORE_URL": store_url, "JWT_SECRET": "x" * 40, "LOG_LEVEL": "WARNING",
    }  # fmt: skip
    env.pop("MONGODB_URI", None)

    def reconcile(*flags: str) -> dict[str, Any]:
        result = subprocess.run(
            [PAYMENTS, "reconcile", "--json", "--env-file", str(tmp_path / "none"), *flags],
            capture_output=True, text=True, timeout=60, env=env, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        return summary

    dry = reconcile("--dry-run")
    assert status_of(ledger, "ord_cli_1") is PaymentStatus.INITIATED
    applied = reconcile()
    again = reconcile()

    assert [c["orderId"] for c in dry["changes"]] == ["ord_cli_1"]
    assert [c["statusAfter"] for c in applied["changes"]] == ["SUCCESS"]
    assert again["changes"] == []
    assert status_of(ledger, "ord_cli_1") is PaymentStatus.SUCCESS


def status_of(ledger: PaymentLedger, order_id: str) -> PaymentStatus:
    payment = ledger.find(order_id)
    assert payment is not None, order_id
    return payment.status
