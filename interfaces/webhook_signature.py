"""Stripe webhook signatures, checked with the `stripe` library on the raw body.

`STRIPE_WEBHOOK_SECRET` may list several secrets (comma-separated) while one is
being rotated; a delivery is genuine if it verifies against any of them.
"""

from __future__ import annotations

import stripe

TOLERANCE_SECONDS = 300


class InvalidSignature(Exception):
    """`Stripe-Signature` is missing, malformed, wrong or too old."""


class WebhookSignature:
    """Verifies `Stripe-Signature` against every configured secret."""

    def __init__(self, secrets: str | list[str], tolerance: int = TOLERANCE_SECONDS) -> None:
        listed = secrets.split(",") if isinstance(secrets, str) else secrets
        self._secrets = [secret.strip() for secret in listed if secret.strip()]
        if not self._secrets:
            raise ValueError("no webhook signing secret configured")
        self._tolerance = tolerance

    def verify(self, payload: bytes, header: str | None) -> None:
        if not header:
            raise InvalidSignature("no Stripe-Signature header")
        for secret in self._secrets:
            try:
                stripe.WebhookSignature.verify_header(
                    payload, header, secret, tolerance=self._tolerance
                )
            # Non-UTF-8 bodies and non-ASCII signatures make the library raise these
            # instead; neither can be a genuine delivery.
            except (stripe.SignatureVerificationError, UnicodeDecodeError, TypeError):
                continue
            return
        raise InvalidSignature("no configured secret verifies the signature")
