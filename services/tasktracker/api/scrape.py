"""`GET /metrics`: Prometheus metrics of this process, for whoever holds the scrape token."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from tasktracker import metrics
from tasktracker.api.deps import RuntimeDep
from tasktracker.errors import Unauthorized

router = APIRouter()


@router.get(
    "/metrics",
    tags=["system"],
    response_class=Response,
    responses={
        200: {"content": {metrics.CONTENT_TYPE: {}}, "description": "Prometheus text format."},
        401: {"description": "No or a wrong scrape token."},
    },
)
async def scrape(request: Request, runtime: RuntimeDep) -> Response:
    """Prometheus metrics; needs `Authorization: Bearer <TASKTRACKER_METRICS_TOKEN>`."""
    token = runtime.settings.metrics_token
    if not metrics.authorized(
        request.headers.get("authorization"), token.get_secret_value() if token else None
    ):
        raise Unauthorized(
            "metrics need the scrape token as a Bearer header"
            if token
            else "metrics are off: TASKTRACKER_METRICS_TOKEN is not set",
            code="not_authenticated",
        )
    settings = runtime.settings
    await metrics.refresh_queue_lag(runtime.broker, settings.nats_stream, settings.nats_durable)
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
