"""HTTP server spans: FastAPI's own OpenTelemetry support, pointed at the package's tracer provider.

FastAPI (since 0.142) makes one server span per request, named by the route template
(`POST /api/messages`, `GET /api/messages/{message_id}`), continuing an incoming W3C `traceparent`,
with the method, route and status code; a 5xx or an unhandled exception sets status ERROR and
`error.type`. A middleware of our own would only duplicate it once a global provider is set.

Only its tracing is used, and only when `telemetry.configure()` (or a test) installed a provider:
no FastAPI metrics or log records, no exporters from FastAPI's own environment set-up (the settings
own that), no per-dependency/endpoint/serialization spans, and no spans for WebSocket connections
(they last for hours) or health probes (every few seconds, from every replica).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from fastapi.telemetry import TelemetryConfig

from tasktracker import telemetry


def http_telemetry() -> TelemetryConfig:
    """`FastAPI(telemetry=...)`: server spans to the installed provider; everything off without one."""
    provider = telemetry.tracer_provider()
    return {
        "tracing": provider is not None,
        "tracer_provider": provider,
        "metrics": False,
        "logs": False,
        "operation_spans": False,
        "auto_configure": False,
        "exclude": _untraced,
    }


def _untraced(scope: MutableMapping[str, Any]) -> bool:
    return scope["type"] == "websocket" or scope["path"].startswith("/api/health")
