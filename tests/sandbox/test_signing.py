"""The sandbox's webhook signatures verify with the SDK (pure, no server)."""

from __future__ import annotations

import time

import pytest
import stripe

from sandbox.stripe_api.signing import new_webhook_secret, signature_header


def test_a_signature_verifies_with_the_sdk_and_fails_with_another_secret() -> None:
    secret, payload = new_webhook_secret(), b'{"id": "evt_1", "object": "event"}'
    header = signature_header(secret, payload, int(time.time()))

    assert stripe.WebhookSignature.verify_header(payload.decode(), header, secret)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(payload.decode(), header, new_webhook_secret())
