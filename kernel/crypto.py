"""Secrets at rest and one-time tokens.

- `new_token()`: a URL-safe random token (256 bits) for links and API credentials;
  only `digest(token)` (SHA-256, hex) is stored. High-entropy values need no slow hash:
  a database thief cannot guess a 256-bit preimage.
- `FieldCipher`: Fernet (AES-128-CBC + HMAC-SHA256) for secrets the app must read back
  (TOTP seeds, SSO client secrets). Keys come from ENCRYPTION_KEYS (comma-separated,
  newest first, so old values stay readable while `rotate` re-encrypts them); without
  it, a key derived from SECRET_KEY with HKDF (development and tests).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two strings."""
    return hmac.compare_digest(a.encode(), b.encode())


def derive_key(secret: str, purpose: str) -> bytes:
    """A Fernet key derived from a secret for one purpose."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(secret.encode())
    return base64.urlsafe_b64encode(raw)


class DecryptionFailed(RuntimeError):
    """The value was encrypted with a key we no longer have, or was altered."""


class FieldCipher:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    @classmethod
    def from_settings(cls, settings) -> FieldCipher:
        if settings.encryption_keys:
            return cls([k.strip().encode() for k in settings.encryption_keys.split(",") if k.strip()])
        return cls([derive_key(settings.secret_key, "traceport field encryption")])

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(bytes(token)).decode()
        except InvalidToken as exc:
            raise DecryptionFailed() from exc

    def rotate(self, token: bytes) -> bytes:
        return self._fernet.rotate(bytes(token))
