"""PSP credentials encrypted at rest: Fernet with key rotation (FIELD_ENCRYPTION_KEYS, newest first).

New ciphertexts use the first key; any listed key decrypts; `reencrypt` moves a value to the newest key.
Development and tests without keys fall back to a key derived from SECRET_KEY; production refuses to start
encrypting without real keys. (Trading-server credentials need the same thing: this module can move to
platform_core when a second capability uses it.)
"""
from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["encrypt", "decrypt", "reencrypt", "secret_hint", "InvalidToken"]


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret_key: str, allow_fallback: bool) -> MultiFernet:
    if not keys:
        if not allow_fallback:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set to store PSP credentials.")
        derived = hashlib.sha256(b"brokeros-field-encryption:" + secret_key.encode()).digest()
        keys = (base64.urlsafe_b64encode(derived).decode(),)
    return MultiFernet([Fernet(key) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS), settings.SECRET_KEY,
                   bool(settings.DEBUG or getattr(settings, "TESTING", False)))


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Raises InvalidToken when no configured key opens it (a key was removed too early)."""
    return _current().decrypt(token.encode()).decode()


def reencrypt(token: str) -> str:
    return _current().rotate(token.encode()).decode()


def secret_hint(secret: str) -> str:
    """What staff may see of a secret: its prefix kind and last four characters."""
    if not secret:
        return ""
    prefix = secret.split("_", 1)[0] + "_" if "_" in secret[:8] else ""
    return f"{prefix}…{secret[-4:]}"
