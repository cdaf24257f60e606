"""A bound on request bodies, answered like every other error: JSON 413 `{"detail", "code"}`."""

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
