"""Service endpoints: root, health, readiness, client config, stats, ad-hoc classification."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from tasktracker import __version__
from tasktracker.api.deps import RuntimeDep, SessionDep
from tasktracker.classification.schemas import Classification, ClassifyRequest
from tasktracker.db import ping
from tasktracker.errors import Invalid
from tasktracker.stats import service as stats_service
from tasktracker.stats.schemas import StatsPublic

router = APIRouter()


class ClientConfig(BaseModel):
    """What the dashboard needs to know about this deployment."""

    name: str
    version: str
    ws_url: str
    classifier: str
    # Which model answers and why (auto mode: the LLM only once it has beaten the built-in model on dev).
    classifier_status: str | None = None
    review_threshold: float
    embedded: bool
    max_message_bytes: int


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    down: list[str]
    checks: dict[str, str]


def root_info(runtime: Any) -> dict[str, Any]:
    return {
        "name": "tasktracker",
        "version": __version__,
        "status": "ok",
        "role": runtime.role.value,
        "docs": "/docs",
    }


@router.get("/api/health", tags=["system"])
async def health() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@router.get(
    "/api/health/ready",
    tags=["system"],
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Something is down; `down` and `checks` say what."}},
)
async def ready(runtime: RuntimeDep) -> JSONResponse:
    """Readiness: database, broker and classifier. 503 names what is down."""
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(ping(runtime.engine), timeout=3)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"down: {type(exc).__name__}"
    checks["broker"] = "ok" if runtime.broker_connected() else "down: not connected"
    checks["events"] = "ok" if runtime.bus.connected else "down: not connected"
    try:
        checks["classifier"] = (
            "ok" if await asyncio.wait_for(runtime.classifier.ready(), timeout=3) else "degraded"
        )
    except Exception as exc:
        checks["classifier"] = f"degraded: {type(exc).__name__}"
    if (choice := getattr(runtime.classifier, "status", None)) is not None:
        checks["classifier_choice"] = choice
    down = [name for name, state in checks.items() if state.startswith("down")]
    body = {"status": "ok" if not down else "unavailable", "down": down, "checks": checks}
    return JSONResponse(body, status_code=503 if down else 200)


def websocket_url(request: Request) -> str:
    """Derive the WebSocket URL the browser should use from how it reached us (proxies included)."""
    headers = request.headers
    proto = headers.get("x-forwarded-proto", request.url.scheme).split(",")[0].strip()
    host = headers.get("x-forwarded-host", headers.get("host", request.url.netloc)).split(",")[0].strip()
    prefix = headers.get("x-forwarded-prefix", "").rstrip("/")
    scheme = "wss" if proto in ("https", "wss") else "ws"
    return f"{scheme}://{host}{prefix}/ws"


@router.get("/api/config", tags=["system"])
async def client_config(request: Request, runtime: RuntimeDep) -> ClientConfig:
    """What the dashboard needs to know about this deployment."""
    settings = runtime.settings
    return ClientConfig(
        name="tasktracker",
        version=__version__,
        ws_url=websocket_url(request),
        classifier=runtime.classifier.name,
        classifier_status=getattr(runtime.classifier, "status", None),
        review_threshold=settings.review_threshold,
        embedded=settings.embedded_broker,
        max_message_bytes=settings.max_message_bytes,
    )


@router.get("/api/stats", tags=["stats"])
async def get_stats(session: SessionDep) -> StatsPublic:
    """Counts for the dashboard's charts (last 30 days for time series)."""
    return await stats_service.stats(session)


@router.post("/api/classify", tags=["classification"])
async def classify(body: ClassifyRequest, runtime: RuntimeDep) -> Classification:
    """Classify a text with the configured classifier chain; nothing is stored."""
    size = len(body.content.encode())
    if size > runtime.settings.max_message_bytes:
        raise Invalid(
            f"content is {size} bytes; the limit is {runtime.settings.max_message_bytes}",
            code="content_too_long",
        )
    if not body.content.strip():
        raise Invalid("content must not be empty", code="empty_content")
    return await runtime.classifier.classify(body.content)
