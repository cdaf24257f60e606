"""Request signatures: Slack's `v0` scheme and a plain HMAC-SHA256 of the body for generic webhooks.

Every failure is a 401 whose code says what was wrong; comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from tasktracker.errors import Unauthorized

GENERIC_SIGNATURE_HEADERS = ("x-signature-256", "x-hub-signature-256")


def hmac_sha256(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    return "v0=" + hmac_sha256(secret, b"v0:" + timestamp.encode() + b":" + body)


def verify_slack(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    tolerance_s: int = 300,
    now: float | None = None,
) -> None:
    """Slack signs `v0:{timestamp}:{body}`; an old timestamp is a replay and is refused."""
    if not timestamp or not signature:
        raise Unauthorized(
            "X-Slack-Request-Timestamp and X-Slack-Signature are required", code="missing_signature"
        )
    try:
        sent = int(timestamp)
    except ValueError:
        raise Unauthorized("X-Slack-Request-Timestamp is not a Unix time", code="bad_timestamp") from None
    now = time.time() if now is None else now
    # Compared as integers: a 400-digit timestamp is merely stale (as a float it would overflow).
    if abs(int(now) - sent) > tolerance_s:
        raise Unauthorized(
            f"request timestamp is more than {tolerance_s} s from now: refused as a replay",
            code="stale_timestamp",
        )
    if not _same(slack_signature(secret, timestamp, body), signature):
        raise Unauthorized("X-Slack-Signature does not match the body", code="bad_signature")


def _same(expected: str, given: str) -> bool:
    """Constant-time equality. As bytes: `compare_digest` raises on a str with non-ASCII characters,
    and a header may carry any Latin-1 byte."""
    return hmac.compare_digest(expected.encode(), given.encode())


def generic_signature(secret: str, body: bytes) -> str:
    """The value of `X-Signature-256` for a body: `sha256=<hex HMAC-SHA256(secret, body)>`."""
    return "sha256=" + hmac_sha256(secret, body)


def verify_generic(secret: str | None, signature: str | None, body: bytes) -> None:
    if not secret:
        raise Unauthorized("this channel has no secret to verify signatures with", code="no_secret")
    if not signature:
        raise Unauthorized(
            "X-Signature-256: sha256=<hex HMAC-SHA256 of the body> is required", code="missing_signature"
        )
    if not _same(generic_signature(secret, body), signature.strip()):
        raise Unauthorized("X-Signature-256 does not match the body", code="bad_signature")
