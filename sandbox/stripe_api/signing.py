"""Webhook signatures exactly as Stripe makes them, and signing secrets."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


def signature_header(secret: str, payload: bytes, timestamp: int) -> str:
    """`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>`."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
