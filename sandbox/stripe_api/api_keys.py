"""The API-key check in front of `/v1`: `Authorization: Bearer sk_test_…`."""

from __future__ import annotations

import base64
import binascii
import hmac

from sandbox.stripe_api.errors import unauthenticated

_MISSING = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details, or we can help at "
    "https://support.stripe.com/."
)


def check_api_key(authorization: str | None, required_key: str | None) -> None:
    """Accept the exact `--api-key`, or else any test-mode secret key."""
    key = _presented_key(authorization)
    if not key:
        raise unauthenticated(_MISSING)
    if required_key is not None:
        valid = hmac.compare_digest(key.encode(), required_key.encode())
    else:
        valid = key.startswith("sk_test_") and len(key) > len("sk_test_")
    if not valid:
        raise unauthenticated(f"Invalid API Key provided: {_masked(key)}")


def _presented_key(authorization: str | None) -> str | None:
    """Stripe takes the key as a Bearer token or as the Basic-auth user name."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            return None
    return None


def _masked(key: str) -> str:
    if len(key) <= 12:
        return key[:4] + "*" * max(len(key) - 4, 0)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]
