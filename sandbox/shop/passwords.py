"""Password hashing with scrypt (stdlib), so seeded passwords are never stored in clear."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# Cheap enough for a dev tool (about 30 ms), still a real memory-hard KDF.
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """Return `scrypt$n$r$p$salt$hash`, everything needed to verify later."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Check `password` against a value made by `hash_password`, in constant time."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p)
    )
    return hmac.compare_digest(digest.hex(), expected)
