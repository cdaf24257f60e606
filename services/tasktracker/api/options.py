"""`OPTIONS` on any path of the API: 204 with the methods it takes in `Allow`, or 404.

Answered in `api/edge.py` rather than by a catch-all route, which would turn every unknown path's 404 into a 405.
CORS preflights, when CORS is configured, are answered before this by the CORS middleware.
"""

from __future__ import annotations

from starlette.routing import Match
from starlette.types import Scope, Send

from tasktracker.api.errors import send_json_error

PROBED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


async def answer_options(scope: Scope, send: Send) -> None:
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
