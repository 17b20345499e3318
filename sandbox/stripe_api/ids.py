"""Stripe-style object ids: a type prefix and a random tail (`cs_test_a1B2…`)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    tail = "".join(secrets.choice(_ALPHABET) for _ in range(length))
    return f"{prefix}_{tail}"
