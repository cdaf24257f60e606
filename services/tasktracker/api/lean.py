"""Lean routes: a hot endpoint answered without FastAPI's per-request machinery, the same way.

FastAPI spends most of a small request's time outside the endpoint: reading the body into a generic
JSON value, solving the dependency graph (every dependency a call, with its own bookkeeping), then
validating the endpoint's return value against the response model once more before serialising it
(measured, issue 13: about a fifth of the API's CPU per ingested message). For the one or two routes
that carry the load (`POST /api/messages`), a route of `LeanRoute` runs a plain handler attached to
its endpoint as `lean`, which does the same steps directly: the same body model, the same access rule
and rate limit, the same service, the answer serialised once by its own model.

The route stays a FastAPI route, so the OpenAPI document, the access rule walk (tests/test_access.py)
and the exception handlers are unchanged. And the handler may decline a request by answering None
before it has done anything: the endpoint's ordinary handler then answers it, so every unusual
request — a body that does not validate (FastAPI's 422 and its wording), another content type, the
embedded mode's own path — gets exactly the answer it got before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

LeanHandler = Callable[[Request], Awaitable[Response | None]]


def lean(handler: LeanHandler) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Attach `handler` to an endpoint (below its `@router` decorator) for a `LeanRoute` to run."""

    def attach(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        endpoint.lean = handler  # type: ignore[attr-defined]
        return endpoint

    return attach


class LeanRoute(APIRoute):
    """An `APIRoute` that first offers each request to its endpoint's `lean` handler, if it has one."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        full = super().get_route_handler()
        handler: LeanHandler | None = getattr(self.endpoint, "lean", None)
        if handler is None:
            return full

        async def answer(request: Request) -> Response:
            response = await handler(request)
            return response if response is not None else await full(request)

        return answer


def sub_response() -> Response:
    """What FastAPI passes a dependency that takes a `Response` (an access rule renewing a session
    sets its cookies there): headers only, merged into the answer by `json_response`."""
    response = Response()
    del response.headers["content-length"]
    return response


def json_response(body: bytes, status_code: int, sub: Response) -> Response:
    response = Response(body, status_code=status_code, media_type="application/json")
    response.headers.raw.extend(sub.headers.raw)
    return response
