"""HTTP edge shared by every app: request ids, the one error format, health endpoints.

Every error — ours, FastAPI's validation errors, Starlette's 404/405, an unexpected
exception — leaves as `{"error": {code, message, details, timestamp, request_id}}`.
"""

import time
import uuid
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import propagate
from opentelemetry.trace import SpanKind
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from apps.contracts.errors import (
    CODE_FOR_STATUS,
    DomainError,
    ErrorCode,
    ErrorDetail,
    ErrorResponse,
)
from apps.platform.telemetry import current_trace_id, tracer

REQUEST_ID_HEADER = "X-Request-ID"
CORRELATION_ID_HEADER = "X-Correlation-ID"

log = structlog.stdlib.get_logger("http")


def request_id_of(request: Request) -> str:
    return str(getattr(request.state, "request_id", "") or "")


def error_response(
    request: Request,
    status: int,
    code: ErrorCode,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(
        error=ErrorDetail(
            code=code, message=message, details=details or {}, request_id=request_id_of(request)
        )
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


class RequestContextMiddleware(BaseHTTPMiddleware):
    """Takes or makes a request id; opens a server span continuing the caller's W3C trace;
    binds request, correlation and trace ids into every log line of the request."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        rid = request.headers.get(REQUEST_ID_HEADER) or f"req-{uuid.uuid4()}"
        cid = request.headers.get(CORRELATION_ID_HEADER) or rid
        request.state.request_id = rid
        request.state.correlation_id = cid
        parent = propagate.extract(dict(request.headers))
        with tracer().start_as_current_span(
            f"{request.method} {request.url.path}", context=parent, kind=SpanKind.SERVER
        ) as span:
            span.set_attribute("http.request.method", request.method)
            span.set_attribute("smartcommerce.request_id", rid)
            structlog.contextvars.bind_contextvars(
                request_id=rid, correlation_id=cid, trace_id=current_trace_id()
            )
            started = time.perf_counter()
            try:
                response = await call_next(request)
                span.set_attribute("http.response.status_code", response.status_code)
                if not request.url.path.startswith("/health"):
                    log.info(
                        "request",
                        method=request.method,
                        path=request.url.path,
                        status=response.status_code,
                        duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    )
            finally:
                structlog.contextvars.unbind_contextvars("request_id", "correlation_id", "trace_id")
        response.headers[REQUEST_ID_HEADER] = rid
        return response


def _validation_details(exc: RequestValidationError) -> dict[str, Any]:
    return {
        "errors": [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
    }


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return error_response(request, exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(
            request,
            400,
            ErrorCode.INVALID_REQUEST,
            "Request validation failed",
            _validation_details(exc),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = CODE_FOR_STATUS.get(exc.status_code, ErrorCode.INVALID_REQUEST)
        message = exc.detail if isinstance(exc.detail, str) else code.value.replace("_", " ")
        return error_response(request, exc.status_code, code, message, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return error_response(
            request, 500, ErrorCode.INTERNAL_SERVER_ERROR, "Unexpected server error"
        )


def install_common(app: FastAPI) -> None:
    app.add_middleware(RequestContextMiddleware)
    install_error_handlers(app)
