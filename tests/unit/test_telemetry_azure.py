"""Spans reach Application Insights when Bicep sets its connection string (and only then)."""

import os
import subprocess
import sys

PROBE = """
from opentelemetry import trace
from apps.platform import telemetry
telemetry.configure_tracing("checkout")
processors = trace.get_tracer_provider()._active_span_processor._span_processors
print(",".join(type(p.span_exporter).__name__ for p in processors))
"""
CONNECTION = (
    "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:9/"
)


def exporters(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "APPLICATIONINSIGHTS_CONNECTION_STRING"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""


def test_app_insights_exporter_only_with_its_connection_string() -> None:
    assert exporters() == ""
    assert exporters(APPLICATIONINSIGHTS_CONNECTION_STRING=CONNECTION) == (
        "AzureMonitorTraceExporter"
    )
