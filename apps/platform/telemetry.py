"""Tracing: one OpenTelemetry tracer provider per app, a server span per request that
continues the W3C trace Dapr propagates, and the trace id in every log line.

Spans are exported when an exporter is configured (`SC_TRACE_CONSOLE=true` prints them;
in Azure the sidecars' own spans reach Application Insights through the environment's
Dapr telemetry). Outgoing calls carry the current span's `traceparent`.
"""

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

_configured = False


def configure_tracing(app_id: str, console: bool = False) -> None:
    global _configured
    if _configured:  # the global provider can be set once per process
        return
    provider = TracerProvider(resource=Resource.create({"service.name": app_id}))
    if console:
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured = True


def tracer() -> trace.Tracer:
    return trace.get_tracer("smartcommerce")


def inject_trace_headers(headers: dict[str, str]) -> dict[str, str]:
    """Add `traceparent`/`tracestate` of the current span to outgoing headers."""
    propagate.inject(headers)
    return headers


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None
