"""`GET /metrics`: Prometheus metrics of this process, for whoever holds the scrape token."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from tasktracker import metrics
from tasktracker.api.access import scrape_token_or_admin
from tasktracker.api.deps import RuntimeDep

router = APIRouter()


@router.get(
    "/metrics",
    tags=["system"],
    response_class=Response,
    dependencies=[Depends(scrape_token_or_admin)],
    responses={
        200: {"content": {metrics.CONTENT_TYPE: {}}, "description": "Prometheus text format."},
        401: {"description": "No or a wrong scrape token, and not an admin."},
    },
)
async def scrape(runtime: RuntimeDep) -> Response:
    """Prometheus metrics: `Authorization: Bearer <TASKTRACKER_METRICS_TOKEN>`, or an admin."""
    settings = runtime.settings
    await metrics.refresh_queue_lag(runtime.broker, settings.nats_stream, settings.nats_durable)
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
