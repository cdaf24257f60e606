"""Signatures of the trackers' webhooks (sync back). Each compares in constant time.

- GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`.
- Jira Cloud (admin webhooks with a secret): `X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)>`.
- Linear: `Linear-Signature: <hex HMAC-SHA256(secret, body)>`, and the body's `webhookTimestamp`
  (milliseconds) must be recent.
"""

from __future__ import annotations

import hashlib
import hmac


def digest(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode("latin-1", "replace"))


def hub_signature_ok(secret: str, header: str | None, body: bytes) -> bool:
    """GitHub's `X-Hub-Signature-256` and Jira's `X-Hub-Signature` (both `sha256=<hex>`)."""
    return bool(header) and _same("sha256=" + digest(secret, body), (header or "").strip())


def linear_signature_ok(secret: str, header: str | None, body: bytes) -> bool:
    return bool(header) and _same(digest(secret, body), (header or "").strip())
