"""Tracing: one OpenTelemetry tracer provider per app, a server span per request that
continues the W3C trace Dapr propagates, and the trace id in every log line.

Spans are exported when an exporter is configured (`SC_TRACE_CONSOLE=true` prints them;
in Azure, `APPLICATIONINSIGHTS_CONNECTION_STRING` — set by bicep/modules/apps.bicep — sends
the apps' spans to Application Insights, signed in with the app's managed identity
(`AZURE_CLIENT_ID`) where one is named, and the sidecars' own spans go there through the
environment's Dapr telemetry). Outgoing calls carry the current span's `traceparent`.
"""

import os

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

_configured = False
#: The connection string of Application Insights (an ingestion address and resource id, not
#: a secret: with local authentication off, ingestion takes only the identity's token).
APP_INSIGHTS = "APPLICATIONINSIGHTS_CONNECTION_STRING"


def _azure_monitor_exporter() -> SpanExporter:
    from azure.identity import ManagedIdentityCredential
    from azure.monitor.opentelemetry.exporter import AzureMonitorTraceExporter

    client_id = os.environ.get("AZURE_CLIENT_ID")
    credential = ManagedIdentityCredential(client_id=client_id) if client_id else None
    return AzureMonitorTraceExporter(
        connection_string=os.environ[APP_INSIGHTS], credential=credential
    )


def configure_tracing(app_id: str, console: bool = False) -> None:
    global _configured
    if _configured:  # the global provider can be set once per process
        return
    provider = TracerProvider(resource=Resource.create({"service.name": app_id}))
    if console:
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    if os.environ.get(APP_INSIGHTS):
        provider.add_span_processor(BatchSpanProcessor(_azure_monitor_exporter()))
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
