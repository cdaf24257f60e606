"""`OPTIONS` on any path of the API: 204 with the methods it takes in `Allow`, or 404.

A middleware rather than a catch-all route, which would turn every unknown path's 404 into a 405.
CORS preflights, when CORS is configured, are answered before this by the CORS middleware.
"""

from __future__ import annotations

from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from tasktracker.api.errors import send_json_error

PROBED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


class AnswerOptions:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "OPTIONS":
            await self.app(scope, receive, send)
            return
        routes = scope["app"].router.routes
        methods = {
            method
            for method in PROBED_METHODS
            for route in routes
            if route.matches({**scope, "method": method})[0] is Match.FULL
        }
        if methods:
            allow = ", ".join(sorted(methods | {"OPTIONS"})).encode()
            await send({"type": "http.response.start", "status": 204, "headers": [(b"allow", allow)]})
            await send({"type": "http.response.body", "body": b""})
            return
        await send_json_error(send, 404, "Not Found", "not_found")
