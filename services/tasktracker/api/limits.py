"""Bounds on what a request may make the API hold, answered like every other error: JSON 413 for a body
over `TASKTRACKER_MAX_BODY_BYTES`, JSON 431 for request headers over `MAX_HEADER_BYTES`."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tasktracker.api.errors import send_json_error

CODE = "content_too_large"


class BodySizeLimit:
    """Refuses a body over `max_bytes` before the app sees it: by its Content-Length when declared,
    else by reading it (at most `max_bytes` are ever held) and replaying it to the app."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        await send_json_error(
            send,
            413,
            f"the request body is over the {self.max_bytes}-byte limit (TASKTRACKER_MAX_BODY_BYTES)",
            CODE,
        )


# Nginx's defaults allow 4 x 8 KiB of header lines; a browser's cookies plus a token are a few KiB.
MAX_HEADER_BYTES = 64 * 1024
HEADERS_CODE = "request_header_fields_too_large"


class HeaderSizeLimit:
    """Refuses a request whose header fields add up to more than `max_bytes` (431), before any layer
    hashes, logs or compares them. uvicorn's httptools parser itself sets no bound (a 20 MB
    `Authorization` header was answered 401 after being hashed): this keeps the work per request
    bounded; the proxy in front (the dashboard's Nginx, the ingress) bounds the buffering too."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_HEADER_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            size = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
            if size > self.max_bytes:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1009})
                    return
                await send_json_error(
                    send,
                    431,
                    f"the request's header fields add up to more than {self.max_bytes} bytes",
                    HEADERS_CODE,
                )
                return
        await self.app(scope, receive, send)
