"""Everything the API does to a request before a route sees it and to every answer, in one ASGI layer.

In the order a request meets them (each refusal is answered in the app's JSON error shape and, like
every answer, counted and given the security headers):

1. metrics: each HTTP request counted and timed by route template and status (`http_metrics.py`);
2. security headers on every answer, refusals of the steps below included (`security_headers.py`);
3. header fields over `MAX_HEADER_BYTES` refused, before anything reads a header (`limits.py`);
4. `X-Forwarded-*` believed from trusted proxies only (`hosts.py`);
5. a `Host` not served here refused (`hosts.py`);
6. CORS, when `TASKTRACKER_CORS_ORIGINS` is set (Starlette's middleware, its own layer);
7. a body over `TASKTRACKER_MAX_BODY_BYTES` refused (`limits.py`);
8. input no database can store refused: NUL, lone surrogates, NaN, JSON too deep (`input_guard.py`);
9. `OPTIONS` answered with the path's methods (`options.py`);
10. an unexpected exception answered with the JSON 500, the connection kept (`errors.py`).

They were nine middlewares, each a layer every request and answer went through, with five `send`
wrappers stacked on each answer and the body read twice; one layer with one `send` wrapper and one
read does the same (measured, issue 13: docs/benchmarks.md, Ingest).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tasktracker.api import http_metrics
from tasktracker.api.errors import send_json_error
from tasktracker.api.hosts import ForwardedHeaders, host_trusted, refuse_host
from tasktracker.api.input_guard import BODY_METHODS, Refused, check_json_body, check_url, refuse
from tasktracker.api.limits import (
    BODYLESS_METHODS,
    headers_too_large,
    read_body,
    refuse_body,
    refuse_headers,
)
from tasktracker.api.options import answer_options
from tasktracker.api.security_headers import add_security_headers

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Answer:
    """What the request's one `send` wrapper saw of the answer."""

    status: int = 500
    started: bool = False


class Edge:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        trusted_hosts: list[str],
        forwarded_allow: list[str],
        cors_origins: list[str],
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.trusted_hosts = trusted_hosts
        self.forwarded = ForwardedHeaders(forwarded_allow)
        self.cors: ASGIApp | None = None
        if cors_origins:
            self.cors = CORSMiddleware(
                self._past_cors,
                allow_origins=cors_origins,  # exact origins only: the settings refuse "*"
                allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
                allow_headers=["content-type", "authorization", "traceparent"],
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        else:  # lifespan
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        answer = _Answer()
        path = scope["path"]

        async def answering(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer.status = message["status"]
                answer.started = True
                add_security_headers(message, path)
            await send(message)

        try:
            if headers_too_large(scope):
                await refuse_headers(scope, answering)
                return
            await self.forwarded.apply(scope)
            if not host_trusted(scope, self.trusted_hosts):
                await refuse_host(scope, answering)
                return
            if self.cors is not None:
                await self.cors(scope, receive, answering)
            else:
                await self._request(scope, receive, answering, answer)
        finally:
            http_metrics.observe(scope, answer.status, time.perf_counter() - started)

    async def _past_cors(self, scope: Scope, receive: Receive, send: Send) -> None:
        """What follows CORS when it is configured: its `send` may add headers, so whether the answer
        started is tracked on this side of it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answer = _Answer()

        async def tracked(message: Message) -> None:
            answer.started = answer.started or message["type"] == "http.response.start"
            await send(message)

        await self._request(scope, receive, tracked, answer)

    async def _request(self, scope: Scope, receive: Receive, send: Send, answer: _Answer) -> None:
        method = scope["method"]
        body = b""
        if method not in BODYLESS_METHODS:
            messages = await read_body(scope, receive, self.max_body_bytes)
            if messages is None:
                await refuse_body(send, self.max_body_bytes)
                return
            body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
            upstream = receive

            async def replay() -> Message:
                return messages.pop(0) if messages else await upstream()

            receive = replay
        try:
            check_url(scope)
            if method in BODY_METHODS:
                check_json_body(body)
        except Refused as refused:
            await refuse(scope, send, refused)
            return
        if method == "OPTIONS":
            await answer_options(scope, send)
            return
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            # Starlette's outermost middleware would answer the same 500 but then re-raise, and uvicorn
            # closes a connection whose app raised: a keep-alive client's next request on it would fail.
            if answer.started:  # too late for a clean answer: let the server drop the connection
                raise
            log.exception("unhandled error", exc_info=exc)
            await send_json_error(send, 500, "internal server error", "internal_error")

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if headers_too_large(scope):
            await refuse_headers(scope, send)
            return
        await self.forwarded.apply(scope)
        if not host_trusted(scope, self.trusted_hosts):
            await refuse_host(scope, send)
            return
        try:
            check_url(scope)
        except Refused as refused:
            await refuse(scope, send, refused)
            return
        await self.app(scope, receive, send)
