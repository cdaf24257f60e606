"""Service endpoints: root, health, readiness, client config, stats, ad-hoc classification."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from tasktracker import __version__
from tasktracker.api.access import EditorDep, public, requires
from tasktracker.api.deps import RuntimeDep, SessionDep
from tasktracker.api.rate_limit import RateLimitsDep
from tasktracker.classification.schemas import Classification, ClassifyRequest
from tasktracker.errors import Invalid
from tasktracker.health import readiness
from tasktracker.messages.service import check_size
from tasktracker.models.user import Role
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
    # Whether the LLM judges duplicate close calls and why (a process that runs jobs with an LLM).
    duplicate_llm_status: str | None = None
    review_threshold: float
    embedded: bool
    max_message_bytes: int
    # "off": no sign-in; every caller is a local admin (a loopback-only deployment).
    auth: str


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


@router.get("/api/health", tags=["system"], dependencies=[public])
async def health() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@router.get(
    "/api/health/ready",
    tags=["system"],
    dependencies=[public],
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Something is down; `down` and `checks` say what."}},
)
async def ready(runtime: RuntimeDep) -> JSONResponse:
    """Readiness: database, broker and classifier. 503 names what is down."""
    state = await readiness(runtime)
    body = Readiness(status=state.status, down=state.down, checks=state.checks)
    return JSONResponse(body.model_dump(), status_code=200 if state.ready else 503)


def websocket_url(request: Request) -> str:
    """Derive the WebSocket URL the browser should use from how it reached us (proxies included)."""
    headers = request.headers
    proto = headers.get("x-forwarded-proto", request.url.scheme).split(",")[0].strip()
    host = headers.get("x-forwarded-host", headers.get("host", request.url.netloc)).split(",")[0].strip()
    prefix = headers.get("x-forwarded-prefix", "").rstrip("/")
    scheme = "wss" if proto in ("https", "wss") else "ws"
    return f"{scheme}://{host}{prefix}/ws"


@router.get("/api/config", tags=["system"], dependencies=[public])
async def client_config(request: Request, runtime: RuntimeDep) -> ClientConfig:
    """What the dashboard needs to know about this deployment."""
    settings = runtime.settings
    return ClientConfig(
        name="tasktracker",
        version=__version__,
        ws_url=websocket_url(request),
        classifier=runtime.classifier.name,
        classifier_status=getattr(runtime.classifier, "status", None),
        duplicate_llm_status=runtime.duplicate_judge.status if runtime.duplicate_judge is not None else None,
        review_threshold=settings.review_threshold,
        embedded=settings.embedded_broker,
        max_message_bytes=settings.max_message_bytes,
        auth=settings.auth.value,
    )


@router.get("/api/stats", tags=["stats"], dependencies=[requires(Role.viewer)])
async def get_stats(session: SessionDep) -> StatsPublic:
    """Counts for the dashboard's charts (last 30 days for time series)."""
    return await stats_service.stats(session)


@router.post(
    "/api/classify",
    tags=["classification"],
    responses={
        429: {
            "description": "Over the API token's classify rate (`rate_limited`, "
            "TASKTRACKER_RATE_LIMIT_CLASSIFY_*): retry after `Retry-After` seconds."
        }
    },
)
async def classify(
    _: EditorDep, body: ClassifyRequest, runtime: RuntimeDep, request: Request, limits: RateLimitsDep
) -> Classification:
    """Classify a text with the configured classifier chain; nothing is stored. Editor: it runs the
    model, which can be slow and costly (rate-limited per API token)."""
    limits.check_classify(request)
    check_size(runtime.settings, body.content)
    if not body.content.strip():
        raise Invalid("content must not be empty", code="empty_content")
    return await runtime.classifier.classify(body.content)
