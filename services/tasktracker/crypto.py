"""Secrets kept in the database (channel HMAC keys) are encrypted with keys derived from
`TASKTRACKER_SECRET_KEY`.

Each stored value is `enc:` followed by a Fernet token (AES-128-CBC + HMAC-SHA256, with a timestamp).
The Fernet key is derived from the secret key with HKDF-SHA256, so any string works as the secret
key. `MultiFernet` decrypts with the current key and every key in `TASKTRACKER_PREVIOUS_SECRET_KEYS`,
and encrypts with the current one: rotating is setting a new key, moving the old one to the previous
list, and running `tasktracker secrets rotate` (re-encrypts every row with the new key), after which
the old key can go.

A value without the prefix is a plain-text secret from before encryption (migration 0003 encrypts
those); it is still read, so an upgrade never locks a channel out.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tasktracker.config import Settings

PREFIX = "enc:"
HKDF_INFO = b"tasktracker/stored-secrets/v1"


class SecretUnreadable(Exception):
    """A stored secret that none of the configured keys decrypts (the key was changed, not rotated)."""


def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


class SecretBox:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("a SecretBox needs at least one key")
        self._keys = MultiFernet([_fernet(key) for key in keys])

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        return cls([settings.secret_key.get_secret_value(), *settings.previous_secret_key_list])

    def seal(self, plaintext: str) -> str:
        return PREFIX + self._keys.encrypt(plaintext.encode()).decode()

    def open(self, stored: str) -> str:
        if not is_sealed(stored):
            return stored  # plain text from before encryption
        try:
            return self._keys.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SecretUnreadable(
                "a stored secret cannot be decrypted with TASKTRACKER_SECRET_KEY or "
                "TASKTRACKER_PREVIOUS_SECRET_KEYS (was the key replaced instead of rotated?)"
            ) from None

    def reseal(self, stored: str) -> str:
        """The value encrypted with the current key (plain text is encrypted too)."""
        if not is_sealed(stored):
            return self.seal(stored)
        try:
            return PREFIX + self._keys.rotate(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SecretUnreadable("a stored secret cannot be decrypted with any configured key") from None


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)
