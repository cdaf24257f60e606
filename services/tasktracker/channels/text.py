"""Text helpers shared by the channel adapters."""

from __future__ import annotations


def truncate_utf8(text: str, max_bytes: int) -> tuple[str, bool]:
    """Cut a text to at most `max_bytes` of UTF-8 on a character boundary; says whether it was cut."""
    encoded = text.encode()
    if len(encoded) <= max_bytes:
        return text, False
    return encoded[:max_bytes].decode(errors="ignore").rstrip(), True
