"""Prometheus metrics of every process, and who may read them.

The metrics live in prometheus-client's default registry (so the process and platform collectors come
along); the API serves them at `/metrics`, the worker and the bot on their probe port. Reading them
takes the scrape token, `TASKTRACKER_METRICS_TOKEN`, as a Bearer header; without a configured token
nobody can (401), so a deployment never exposes them by accident.

Labels are bounded on purpose: HTTP requests by route *template* (an unknown path counts as
`unmatched`), messages by channel kind (channel names come from clients), classifications by model
family (a retrained model gets a new id each time).
"""

from __future__ import annotations

import asyncio
import hmac
import logging

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from taskiq import AsyncBroker

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST

HTTP_REQUESTS = Counter(
    "tasktracker_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "tasktracker_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
MESSAGES_INGESTED = Counter(
    "tasktracker_messages_ingested_total", "New messages stored (repeats not counted)", ["channel_kind"]
)
JOBS = Counter("tasktracker_jobs_total", "Jobs run, by outcome", ["job", "outcome"])
CLASSIFICATION_LATENCY = Histogram(
    "tasktracker_classification_seconds",
    "Time the classifier took for one message",
    ["model"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
QUEUE_LAG = Gauge(
    "tasktracker_queue_lag_messages",
    "Jobs not yet acknowledged by the JetStream consumer (num_pending + num_ack_pending)",
    ["stream", "consumer"],
)
WEBSOCKET_CLIENTS = Gauge("tasktracker_websocket_clients", "Dashboards connected to /ws of this process")
FROZEN_OBJECTS = Gauge(
    "tasktracker_gc_frozen_objects",
    "Objects made at start-up and moved out of the garbage collector's generations (gc.freeze)",
)
RATE_LIMITED = Counter(
    "tasktracker_rate_limited_total", "Requests refused with 429 by a rate limit", ["limit"]
)
RETRAINS = Counter("tasktracker_retrains_total", "Retrainings of the built-in model", ["outcome"])
DUPLICATE_OPINIONS = Counter(
    "tasktracker_duplicate_opinions_total", "Duplicate close calls put to the LLM, by answer", ["answer"]
)

UNMATCHED_ROUTE = "unmatched"


def model_family(model: str) -> str:
    """`builtin:6ff32eb7b599` -> `builtin`; `qwen2.5:3b-instruct` stays (a configured name, bounded)."""
    return "builtin" if model.startswith("builtin") else model


def authorized(authorization: str | None, token: str | None) -> bool:
    """Whether an `Authorization` header carries the scrape token (compared in constant time)."""
    if not token or not authorization:
        return False
    scheme, _, credentials = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), token.encode())


def render() -> bytes:
    return generate_latest()


async def refresh_queue_lag(broker: AsyncBroker, stream: str, consumer: str, timeout_s: float = 2.0) -> None:
    """Read the lag of the durable JetStream consumer into the gauge (at scrape time: always fresh).
    With the in-process broker there is no queue to measure, and a broker that is away leaves the
    last value (readiness says it is away)."""
    from taskiq_nats import PullBasedJetStreamBroker

    if not isinstance(broker, PullBasedJetStreamBroker) or not broker.client.is_connected:
        return
    try:
        info = await asyncio.wait_for(broker.client.jetstream().consumer_info(stream, consumer), timeout_s)
    except Exception as exc:
        log.debug("could not read the consumer's lag: %s", exc)
        return
    QUEUE_LAG.labels(stream, consumer).set((info.num_pending or 0) + (info.num_ack_pending or 0))
