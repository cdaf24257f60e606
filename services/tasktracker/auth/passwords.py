"""Password hashing with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile).

Verifying is deliberately slow (tens of milliseconds), so it runs in a thread; an unknown user is
answered after verifying against a dummy hash, so the time does not tell which usernames exist.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 takes any length; a bound keeps a megabyte "password" from costing CPU

_hasher = PasswordHasher()


class WeakPassword(ValueError):
    pass


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password must be at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


async def hash_async(password: str) -> str:
    """In a thread: hashing takes tens of milliseconds the event loop should spend on other requests."""
    return await asyncio.to_thread(_hasher.hash, password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("not a password anyone has: only here to spend the same time")


def verify(password_hash: str | None, password: str) -> bool:
    """True when the password matches; with no hash (unknown user, or no password set) spends the
    same time and answers False."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_async(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify, password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
