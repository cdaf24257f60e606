"""Tracing: one trace from the HTTP request through the job queue to the worker's classification."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import nats
import pytest
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from taskiq import TaskiqMessage, TaskiqMiddleware

from tasktracker import telemetry
from tasktracker.api.app import create_app
from tasktracker.api.tracing import http_telemetry
from tasktracker.config import ConfigError, load_settings
from tasktracker.runtime import Role
from tests.support.app import ScriptedClassifier, WorkerProcess, eventually, get_json, serve
from tests.support.services import free_port
from tests.support.tracing import finished, one, parent_id, recorded_spans

CALLER_TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
CALLER_SPAN_ID = 0x00F067AA0BA902B7
CALLER_TRACEPARENT = f"00-{CALLER_TRACE_ID:032x}-{CALLER_SPAN_ID:016x}-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The package's spans, recorded in memory; the global provider is left alone."""
    with recorded_spans() as exporter:
        yield exporter


class LabelRecorder(TaskiqMiddleware):
    """Keeps the labels of every job sent, as they go onto the queue."""

    def __init__(self) -> None:
        super().__init__()
        self.labels: list[dict[str, Any]] = []

    def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        self.labels.append(dict(message.labels))
        return message


# The embedded process -------------------------------------------------------------------------------


async def test_a_message_is_one_trace_from_request_to_classification(make_settings, spans) -> None:
    app = create_app(make_settings(), role=Role.all, migrate=True)  # the real built-in classifier
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
        jobs = LabelRecorder()
        app.state.runtime.broker.add_middlewares(jobs)
        r = await client.post("/api/messages", json={"content": "bug: checkout fails on submit"})
        assert r.status_code == 202, r.text
        message_id = r.json()["id"]
        await eventually(finished(spans, "messages.classify"))
        message = await get_json(client, f"/api/messages/{message_id}")

    server = one(spans, "POST /api/messages")
    assert server.kind is SpanKind.SERVER and server.parent is None  # no traceparent came in: a new trace
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/api/messages"
    assert server.attributes["http.request.method"] == "POST"
    assert server.attributes["http.response.status_code"] == 202
    trace_id = server.context.trace_id

    ingest = one(spans, "messages.ingest")
    assert (ingest.context.trace_id, parent_id(ingest)) == (trace_id, server.context.span_id)
    assert ingest.attributes is not None
    assert ingest.attributes["message.id"] == message_id
    assert ingest.attributes["message.created"] is True
    assert ingest.attributes["message.channel"] == message["channel"]["name"]

    enqueue = one(spans, "messages.enqueue")
    assert enqueue.kind is SpanKind.PRODUCER
    assert (enqueue.context.trace_id, parent_id(enqueue)) == (trace_id, server.context.span_id)
    # The job carries the enqueue span's context: that is how a worker elsewhere continues the trace.
    ((label, traceparent),) = [item for labels in jobs.labels for item in labels.items()]
    assert label == "traceparent"
    assert traceparent.startswith(f"00-{trace_id:032x}-{enqueue.context.span_id:016x}-")

    classify = one(spans, "messages.classify")
    assert classify.kind is SpanKind.CONSUMER
    assert (classify.context.trace_id, parent_id(classify)) == (trace_id, enqueue.context.span_id)
    assert classify.status.status_code is StatusCode.UNSET
    attributes = classify.attributes
    assert attributes is not None
    classification = message["classification"]
    assert attributes["message.id"] == message_id
    assert attributes["classification.model"] == classification["model"]
    assert attributes["classification.category"] == classification["category"]
    assert attributes["classification.priority"] == classification["priority"]
    assert attributes["classification.confidence"] == pytest.approx(classification["confidence"])
    assert attributes["classification.fallback"] is False
    assert attributes.get("task.id") == message["task_id"]

    builtin = one(spans, "classifier.builtin")
    assert (builtin.context.trace_id, parent_id(builtin)) == (trace_id, classify.context.span_id)


async def test_the_callers_trace_is_continued_and_routes_name_the_spans(make_settings, spans) -> None:
    app = create_app(make_settings(), role=Role.all, migrate=True, classifier=ScriptedClassifier())
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
        r = await client.post(
            "/api/messages",
            json={"content": "feature: dark mode", "external_id": "tp1"},
            headers={"traceparent": CALLER_TRACEPARENT},
        )
        assert r.status_code == 202
        await eventually(finished(spans, "messages.classify"))
        assert (await client.get(f"/api/messages/{r.json()['id']}")).status_code == 200
        assert (await client.get("/api/messages/999999")).status_code == 404
        assert (await client.get("/api/health")).status_code == 200

    server = one(spans, "POST /api/messages")
    assert (server.context.trace_id, parent_id(server)) == (CALLER_TRACE_ID, CALLER_SPAN_ID)
    assert one(spans, "messages.classify").context.trace_id == CALLER_TRACE_ID

    detail = [s for s in spans.get_finished_spans() if s.name == "GET /api/messages/{message_id}"]
    assert [s.attributes and s.attributes["http.response.status_code"] for s in detail] == [200, 404]
    assert all(s.status.status_code is StatusCode.UNSET for s in detail)  # a 404 is not a server error
    assert all(s.context.trace_id != CALLER_TRACE_ID for s in detail)  # no traceparent: traces of their own
    assert not [s for s in spans.get_finished_spans() if "/api/health" in s.name]  # probes are not traced


async def test_a_failed_classification_is_an_error_in_the_trace(make_settings, spans) -> None:
    classifier = ScriptedClassifier()
    classifier.fail_next = 1
    app = create_app(make_settings(), role=Role.all, migrate=True, classifier=classifier)
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
        r = await client.post("/api/messages", json={"content": "task: rotate keys", "external_id": "f1"})
        assert r.status_code == 202
        await eventually(finished(spans, "messages.classify"))

    classify = one(spans, "messages.classify")
    assert classify.status.status_code is StatusCode.ERROR
    assert [e.attributes and e.attributes["exception.message"] for e in classify.events] == [
        "scripted failure"
    ]
    assert one(spans, "POST /api/messages").status.status_code is StatusCode.UNSET  # the request succeeded


async def test_an_unhandled_exception_makes_the_server_span_an_error(spans) -> None:
    app = FastAPI(telemetry=http_telemetry())

    @app.get("/things/{thing_id}")
    async def boom(thing_id: int) -> None:
        raise RuntimeError("database on fire")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/things/7")).status_code == 500

    server = one(spans, "GET /things/{thing_id}")
    assert server.status.status_code is StatusCode.ERROR
    assert server.attributes is not None
    assert server.attributes["error.type"] == "RuntimeError"


async def test_tracing_off_changes_nothing(make_settings) -> None:
    settings = make_settings()
    global_provider = trace.get_tracer_provider()
    assert telemetry.configure(settings, "tasktracker") is None
    assert trace.get_tracer_provider() is global_provider and not telemetry.enabled()

    app = create_app(settings, role=Role.all, migrate=True, classifier=ScriptedClassifier())
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
        jobs = LabelRecorder()
        app.state.runtime.broker.add_middlewares(jobs)
        r = await client.post(
            "/api/messages",
            json={"content": "bug: login loops", "external_id": "off1"},
            headers={"traceparent": CALLER_TRACEPARENT},
        )
        assert r.status_code == 202

        async def classified() -> bool:
            return (await get_json(client, f"/api/messages/{r.json()['id']}"))["status"] == "classified"

        await eventually(classified)
    assert jobs.labels == [{}]  # the job is sent exactly as before tracing existed
    with telemetry.span("anything") as span:
        assert not span.is_recording()


# Production topology: API and worker as separate runtimes over the real NATS JetStream -----------------


@pytest.fixture
async def jetstream_settings(make_settings, nats_server, unique):
    settings = make_settings(
        nats_url=nats_server.url,
        nats_stream=f"tt_jobs_{unique}",
        nats_subject=f"tt.{unique}.jobs",
        nats_durable=f"tt_workers_{unique}",
        nats_events_subject=f"tt.{unique}.events",
    )
    yield settings
    nc = await nats.connect(nats_server.url)
    try:
        await nc.jetstream().delete_stream(settings.nats_stream)
    finally:
        await nc.close()


async def test_the_worker_continues_the_trace_across_jetstream(jetstream_settings, spans) -> None:
    settings = jetstream_settings
    from tasktracker.db import create_engine
    from tasktracker.migrations import upgrade

    engine = create_engine(settings)
    await upgrade(engine)
    await engine.dispose()
    worker = WorkerProcess(settings, ScriptedClassifier())
    await worker.start()
    try:
        api = create_app(settings, role=Role.api, classifier=ScriptedClassifier())
        async with serve(api) as base, httpx.AsyncClient(base_url=base) as client:
            await asyncio.wait_for(api.state.runtime.broker_ready.wait(), 15)
            await asyncio.wait_for(worker.broker_ready.wait(), 15)
            r = await client.post(
                "/api/messages",
                json={"content": "bug: export times out", "external_id": "js1"},
                headers={"traceparent": CALLER_TRACEPARENT},
            )
            assert r.status_code == 202
            await eventually(finished(spans, "messages.classify"), timeout=15)
    finally:
        await worker.stop()

    enqueue = one(spans, "messages.enqueue")
    classify = one(spans, "messages.classify")
    assert enqueue.context.trace_id == CALLER_TRACE_ID
    assert (classify.context.trace_id, parent_id(classify)) == (CALLER_TRACE_ID, enqueue.context.span_id)
    assert classify.parent is not None and classify.parent.is_remote  # it came in the job's labels
    assert classify.attributes is not None and classify.attributes["classification.category"] == "bug"


# Process set-up: configure() as the commands call it, in a process of its own -------------------------

EMIT_ONE_SPAN = """
from tasktracker import telemetry
from tasktracker.config import load_settings

assert telemetry.configure(load_settings(), "tasktracker-api") is not None
with telemetry.span("messages.ingest", {"message.id": 7}):
    pass
"""


def _run_python(code: str, env: dict[str, str], tmp_path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin", "TASKTRACKER_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_console_mode_prints_each_span(tmp_path) -> None:
    result = _run_python(EMIT_ONE_SPAN, {"TASKTRACKER_TRACING": "console"}, tmp_path)
    assert result.returncode == 0, result.stderr
    span = json.loads(result.stdout)
    assert span["name"] == "messages.ingest"
    assert span["attributes"] == {"message.id": 7}
    assert span["resource"]["attributes"]["service.name"] == "tasktracker-api"


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_otlp_endpoint_sends_spans_to_the_collector(tmp_path) -> None:
    collector = ThreadingHTTPServer(("127.0.0.1", free_port()), _Collector)
    _Collector.received = []
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{collector.server_port}"
        result = _run_python(EMIT_ONE_SPAN, {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}, tmp_path)
    finally:
        collector.shutdown()
        collector.server_close()
    assert result.returncode == 0, result.stderr
    assert [path for path, _ in _Collector.received] == ["/v1/traces"]  # sent when the process exits
    request = ExportTraceServiceRequest.FromString(_Collector.received[0][1])
    (resource_spans,) = request.resource_spans
    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert resource["service.name"] == "tasktracker-api"
    assert [s.name for scope in resource_spans.scope_spans for s in scope.spans] == ["messages.ingest"]


@pytest.mark.parametrize("name", ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"])
def test_a_bad_collector_url_stops_the_start_with_one_line(name: str, tmp_path) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings(**{name.lower(): "otel-collector:4318"})
    result = subprocess.run(
        [sys.executable, "-m", "tasktracker.cli", "worker"],
        env={
            "PATH": "/usr/bin:/bin",
            "TASKTRACKER_DATA_DIR": str(tmp_path),
            "NATS_URL": "nats://127.0.0.1:4222",
            name: "otel-collector:4318",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"configuration error: {name}: must be an http(s)://")
