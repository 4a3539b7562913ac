"""Structured logs (structlog, JSON) with request and correlation ids bound per request."""

import logging
import sys
import uuid
from collections.abc import MutableMapping
from typing import Any

import structlog

from apps.platform.telemetry import configure_tracing

#: The longest value one log field keeps (a line stays far below the 64 KiB a log reader
#: such as `dapr run`'s takes per line; a client's oversized input cannot stall the app).
MAX_FIELD_CHARS = 2000


def cap_values(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Cut every long field (client input echoed in a message, a huge exception text) to
    `MAX_FIELD_CHARS`, saying how long it was."""
    for key, value in event.items():
        text = value if isinstance(value, str) else None
        if text is None and not isinstance(value, int | float | bool | type(None)):
            text = str(value)
        if text is not None and len(text) > MAX_FIELD_CHARS:
            event[key] = f"{text[:MAX_FIELD_CHARS]}… [{len(text)} chars]"
    return event


def configure_logging(
    app_id: str, level: str = "INFO", json: bool = True, trace_console: bool = False
) -> None:
    """Route stdlib logging (uvicorn, dapr SDK) and structlog through one JSON renderer,
    and set up tracing (apps.platform.telemetry) for the same app."""
    configure_tracing(app_id, console=trace_console)
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                cap_values,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.contextvars.bind_contextvars(app_id=app_id)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)  # type: ignore[no-any-return]


def current_correlation_id() -> str:
    """The correlation id of the request being served (bound by the HTTP middleware and
    the subscription dispatcher), for the events it causes; a fresh one outside of one."""
    bound = structlog.contextvars.get_contextvars().get("correlation_id")
    return str(bound) if bound else uuid.uuid4().hex
