"""HTTP requests counted and timed by route template and status (the metrics are in tasktracker.metrics;
`api/edge.py` calls `observe` once per request)."""

from __future__ import annotations

from starlette.types import Scope

from tasktracker.metrics import HTTP_LATENCY, HTTP_REQUESTS, UNMATCHED_ROUTE


def observe(scope: Scope, status: int, seconds: float) -> None:
    route = _route_template(scope)
    method = scope["method"]
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else UNMATCHED_ROUTE
