"""Keys that sign and check checkpoints: Ed25519 (PEM) or an HMAC-SHA256 secret.

Ed25519 is preferred: the service operator seals with the private key and an
auditor verifies with the public key alone, so verifying never hands out the
power to forge. An HMAC secret is accepted for setups that already manage one,
but only from a file that says so (`hmac:<secret>`): a key file that is neither
PEM Ed25519 nor marked is refused. Taking any other file for a secret would let
a public key in another format (OpenSSH, hex) become an HMAC key, and whoever
holds that public key could then seal checkpoints that verify.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MIN_HMAC_SECRET_BYTES = 32
PEM_MARKER = b"-----BEGIN"
HMAC_PREFIX = b"hmac:"


class CheckpointKeyError(Exception):
    """The key file is missing, unreadable, or cannot do what was asked."""


class CheckpointKey(Protocol):
    """Signs checkpoint content and checks signatures."""

    algorithm: str
    key_id: str

    def sign(self, content: bytes) -> str: ...

    def verify(self, content: bytes, signature: str) -> bool: ...


class Ed25519Key:
    """An Ed25519 key pair, or only its public half (which can verify, not seal)."""

    algorithm = "ed25519"

    def __init__(self, public: Ed25519PublicKey, private: Ed25519PrivateKey | None) -> None:
        self._public = public
        self._private = private
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]

    def sign(self, content: bytes) -> str:
        if self._private is None:
            raise CheckpointKeyError("a public key can verify checkpoints but not seal them")
        return self._private.sign(content).hex()

    def verify(self, content: bytes, signature: str) -> bool:
        try:
            self._public.verify(bytes.fromhex(signature), content)
        except (InvalidSignature, ValueError):
            return False
        return True


class HmacKey:
    """A shared secret; whoever can verify can also seal."""

    algorithm = "hmac-sha256"

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_HMAC_SECRET_BYTES:
            raise CheckpointKeyError(
                f"an HMAC secret must be at least {MIN_HMAC_SECRET_BYTES} bytes "
                f"(after '{HMAC_PREFIX.decode()}')"
            )
        self._secret = secret
        self.key_id = hmac.new(secret, b"payments-audit-key-id", hashlib.sha256).hexdigest()[:16]

    def sign(self, content: bytes) -> str:
        return hmac.new(self._secret, content, hashlib.sha256).hexdigest()

    def verify(self, content: bytes, signature: str) -> bool:
        return hmac.compare_digest(self.sign(content), signature)


def load_key(path: Path) -> CheckpointKey:
    """Reads a PEM Ed25519 private or public key, or an HMAC secret marked `hmac:`."""
    try:
        material = path.read_bytes()
    except OSError as error:
        raise CheckpointKeyError(f"cannot read key file {path}: {error.strerror}") from error
    if material.startswith(HMAC_PREFIX):
        return HmacKey(material.removeprefix(HMAC_PREFIX).strip())
    if not material.lstrip().startswith(PEM_MARKER):
        raise CheckpointKeyError(
            f"key file {path} is not a PEM Ed25519 key (an HMAC secret file must start "
            f"with '{HMAC_PREFIX.decode()}')"
        )
    try:
        if b"PRIVATE KEY" in material:
            private = serialization.load_pem_private_key(material, password=None)
            if isinstance(private, Ed25519PrivateKey):
                return Ed25519Key(private.public_key(), private)
        else:
            public = serialization.load_pem_public_key(material)
            if isinstance(public, Ed25519PublicKey):
                return Ed25519Key(public, None)
    except (ValueError, TypeError) as error:
        raise CheckpointKeyError(f"key file {path} is not a usable PEM key") from error
    raise CheckpointKeyError(f"key file {path} is not an Ed25519 key")


def generate_ed25519(path: Path) -> Path:
    """Writes a new private key to `path` (mode 600) and its public key to `path`.pub."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    public_path = path.with_name(path.name + ".pub")
    public_path.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return public_path
