"""Bounds on what a request may make the API hold, answered like every other error: JSON 413 for a body
over `TASKTRACKER_MAX_BODY_BYTES`, JSON 431 for request headers over `MAX_HEADER_BYTES` (applied by
`api/edge.py`)."""

from __future__ import annotations

from starlette.types import Message, Receive, Scope, Send

from tasktracker.api.errors import send_json_error

CODE = "content_too_large"


BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


async def read_body(scope: Scope, receive: Receive, max_bytes: int) -> list[Message] | None:
    """The request's messages, read ahead so the app can be given them again; None when the body is
    over `max_bytes`: by its Content-Length when declared, else once that much was read (at most
    `max_bytes` are ever held)."""
    declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
    if declared.isdigit() and int(declared) > max_bytes:
        return None
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        size += len(message.get("body", b""))
        if size > max_bytes:
            return None
        if not message.get("more_body", False):
            return messages


async def refuse_body(send: Send, max_bytes: int) -> None:
    await send_json_error(
        send, 413, f"the request body is over the {max_bytes}-byte limit (TASKTRACKER_MAX_BODY_BYTES)", CODE
    )


# Nginx's defaults allow 4 x 8 KiB of header lines; a browser's cookies plus a token are a few KiB.
MAX_HEADER_BYTES = 64 * 1024
HEADERS_CODE = "request_header_fields_too_large"


def headers_too_large(scope: Scope, max_bytes: int = MAX_HEADER_BYTES) -> bool:
    """Whether the request's header fields add up to more than `max_bytes`: refused (431, or close 1009
    on a WebSocket) before any layer hashes, logs or compares them. uvicorn's httptools parser itself
    sets no bound (a 20 MB `Authorization` header was answered 401 after being hashed): this keeps the
    work per request bounded; the proxy in front (the dashboard's Nginx, the ingress) bounds the
    buffering too."""
    return sum(len(name) + len(value) + 4 for name, value in scope["headers"]) > max_bytes


async def refuse_headers(scope: Scope, send: Send, max_bytes: int = MAX_HEADER_BYTES) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1009})
        return
    await send_json_error(
        send, 431, f"the request's header fields add up to more than {max_bytes} bytes", HEADERS_CODE
    )
