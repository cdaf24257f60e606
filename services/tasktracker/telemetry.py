"""Tracing with OpenTelemetry: off unless the settings ask for it.

`configure()` runs once where a process starts (`tasktracker run | api | worker | bot`). With
`OTEL_EXPORTER_OTLP_ENDPOINT` set, spans go to that collector over OTLP/HTTP; with
`TASKTRACKER_TRACING=console` they are printed; otherwise no provider is made and every `span()` is
the API's non-recording span.

The package's spans go to the provider given to `install()` (by `configure()`, or by a test), not to
whatever the global provider is, so a test can trace one app without touching process-wide state.
The trace context crosses the job queue as W3C `traceparent` in the job's labels: `trace_headers()`
on the sending side, `continued()` on the receiving one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Tracer, TracerProvider
from opentelemetry.util.types import Attributes

from tasktracker import __version__
from tasktracker.config import Settings, TracingMode

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)

INSTRUMENTATION_NAME = "tasktracker"


class _Installed:
    provider: TracerProvider | None = None
    tracer: Tracer = trace.NoOpTracer()


def install(provider: TracerProvider | None) -> None:
    """Send this package's spans to `provider`; None turns them back into no-ops."""
    _Installed.provider = provider
    _Installed.tracer = (
        trace.NoOpTracer() if provider is None else provider.get_tracer(INSTRUMENTATION_NAME, __version__)
    )


def tracer_provider() -> TracerProvider | None:
    """The installed provider, for frameworks that make spans of their own (FastAPI's server spans)."""
    return _Installed.provider


def enabled() -> bool:
    """Whether spans are recorded (adapters skip even the cheap work of a span when not)."""
    return _Installed.provider is not None


def span(
    name: str,
    attributes: Attributes = None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    context: otel_context.Context | None = None,
) -> AbstractContextManager[Span]:
    """Start a span as the current one; an exception leaving it is recorded and sets status ERROR."""
    return _Installed.tracer.start_as_current_span(name, context=context, kind=kind, attributes=attributes)


def annotate(attributes: Attributes) -> None:
    """Add attributes to the current span (a no-op when nothing is traced)."""
    trace.get_current_span().set_attributes(attributes or {})


def trace_headers() -> dict[str, str]:
    """The current trace context as W3C headers (`traceparent`, ...); empty when nothing is traced."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract(headers: Mapping[str, Any]) -> otel_context.Context:
    """The trace context carried by `headers` (HTTP headers or a job's labels)."""
    return propagate.extract(headers)


@contextmanager
def continued(headers: Mapping[str, Any]) -> Iterator[None]:
    """Make the trace in `headers` the parent of the spans started inside (a job continuing a request)."""
    token = otel_context.attach(extract(headers))
    try:
        yield
    finally:
        otel_context.detach(token)


# Process set-up ------------------------------------------------------------------------------------


def build_provider(settings: Settings, service_name: str) -> SdkTracerProvider | None:
    """The SDK provider `settings` ask for, exporting as a process named `service_name`; None when off."""
    exporter = _exporter(settings)
    if exporter is None:
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    resource = Resource.create(
        {
            "service.name": service_name,
            "service.version": __version__,
            "deployment.environment.name": settings.environment.value,
        }
    )
    provider = SdkTracerProvider(resource=resource)  # flushes its spans when the process exits
    # Printed spans are for watching a run locally: show each as it ends, not in batches.
    console = settings.tracing is TracingMode.console
    provider.add_span_processor(SimpleSpanProcessor(exporter) if console else BatchSpanProcessor(exporter))
    return provider


def configure(settings: Settings, service_name: str) -> SdkTracerProvider | None:
    """Turn tracing on for this process when `settings` ask for it; returns the provider, if any."""
    provider = build_provider(settings, service_name)
    if provider is None:
        return None
    trace.set_tracer_provider(provider)  # for libraries that trace through the global API
    install(provider)
    where = "standard output" if settings.tracing is TracingMode.console else settings.otlp_traces_url
    log.info("tracing on: spans of %s go to %s", service_name, where)
    return provider


def _exporter(settings: Settings) -> SpanExporter | None:
    if settings.tracing is TracingMode.console:
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if settings.tracing is TracingMode.auto and settings.otlp_traces_url:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=settings.otlp_traces_url)
    return None
