"""Reading webhook bodies: bounded in size, parsed as a JSON object, errors as `{"detail", "code"}`."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from tasktracker.errors import AppError

MAX_BODY_BYTES = 1024 * 1024


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body (signatures are over the exact bytes), refused past `limit` without reading it all."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def json_object(body: bytes) -> dict[str, Any]:
    """400 `malformed_json` unless the body is a JSON object."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise AppError("the body is not valid JSON", code="malformed_json") from None
    if not isinstance(payload, dict):
        raise AppError("the body must be a JSON object", code="malformed_json")
    return payload
