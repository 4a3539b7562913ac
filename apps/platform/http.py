"""HTTP edge shared by every app: request ids, the one error format, health endpoints.

Every error — ours, FastAPI's validation errors, Starlette's 404/405, an unexpected
exception — leaves as `{"error": {code, message, details, timestamp, request_id}}`.
"""

import os
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from opentelemetry import propagate
from opentelemetry.trace import SpanKind
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
#: A client's request or correlation id is taken only in this shape (else one is made):
#: it goes into every log line, answer header, error body and call to another app.
SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def safe_id(value: str | None) -> str | None:
    """`value` if it is an id we can log and pass on as it is, else None."""
    return value if value is not None and SAFE_ID.fullmatch(value) else None


def new_request_id() -> str:
    return f"req-{uuid.uuid4()}"


log = structlog.stdlib.get_logger("http")


def request_id_of(request: Request) -> str:
    """The request id the context middleware took or made; for answers given before it runs
    (a 413, a missing app token) the caller's own id if it is safe, else a new one."""
    found = getattr(request.state, "request_id", "")
    if not found:
        found = safe_id(request.headers.get(REQUEST_ID_HEADER)) or new_request_id()
        request.state.request_id = found
    return str(found)


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


class RequestContextMiddleware:
    """Takes or makes a request id; opens a server span continuing the caller's W3C trace;
    binds request, correlation and trace ids into every log line of the request; logs one
    line per request. Plain ASGI (no BaseHTTPMiddleware task per request: it is on every
    call's hot path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        rid = safe_id(headers.get(REQUEST_ID_HEADER)) or new_request_id()
        cid = safe_id(headers.get(CORRELATION_ID_HEADER)) or rid
        state = scope.setdefault("state", {})
        state["request_id"], state["correlation_id"] = rid, cid
        path = scope["path"]
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, rid)
            await send(message)

        parent = propagate.extract(dict(headers))
        with tracer().start_as_current_span(
            f"{scope['method']} {path}", context=parent, kind=SpanKind.SERVER
        ) as span:
            span.set_attribute("http.request.method", scope["method"])
            span.set_attribute("smartcommerce.request_id", rid)
            structlog.contextvars.bind_contextvars(
                request_id=rid, correlation_id=cid, trace_id=current_trace_id()
            )
            started = time.perf_counter()
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                span.set_attribute("http.response.status_code", status)
                if not path.startswith("/health"):
                    log.info(
                        "request",
                        method=scope["method"],
                        path=path,
                        status=status,
                        duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    )
                structlog.contextvars.unbind_contextvars("request_id", "correlation_id", "trace_id")


def _validation_details(exc: RequestValidationError) -> dict[str, Any]:
    return {
        "errors": [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
    }


def install_error_handlers(app: FastAPI, invalid_input_status: int = 400) -> None:
    """`invalid_input_status`: 400 INVALID_REQUEST for the API apps; the ML apps answer 422
    UNPROCESSABLE_ENTITY to well-formed input whose features are missing or absurd (their
    issue's contract), and 400 still to a body that is not JSON at all."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        headers = getattr(exc, "headers", None)  # e.g. Retry-After of a rate limit
        return error_response(
            request, exc.status, exc.code, exc.message, exc.details, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        not_json = any(e.get("type") == "json_invalid" for e in exc.errors())
        status = 400 if not_json else invalid_input_status
        return error_response(
            request,
            status,
            CODE_FOR_STATUS[status],
            "Request validation failed",
            _validation_details(exc),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = CODE_FOR_STATUS.get(exc.status_code, ErrorCode.INVALID_REQUEST)
        message = exc.detail if isinstance(exc.detail, str) else code.value.replace("_", " ")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the resource, not one route's
            headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
        return error_response(request, exc.status_code, code, message, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return error_response(
            request, 500, ErrorCode.INTERNAL_SERVER_ERROR, "Unexpected server error"
        )


def allowed_methods(app: Any, path: str) -> list[str]:
    """The methods of the resource at `path`: of the routes written for exactly that path if
    there are any (`/api/checkout/promo`, not `/api/checkout/{order_id}`), else of the
    templates it matches."""
    matching = [
        r for r in app.routes if getattr(r, "path_regex", None) and r.path_regex.match(path)
    ]
    literal = [r for r in matching if "{" not in getattr(r, "path", "{")]
    methods: set[str] = set()
    for route in literal or matching:
        methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def app_state(name: str) -> Callable[[Request], Any]:
    """A FastAPI dependency giving `app.state.<name>` (the services wired in the lifespan):
    `Service = Annotated[CatalogService, Depends(app_state("service"))]`. Async, so FastAPI
    answers it on the event loop instead of a hop through its thread pool per request."""

    async def get(request: Request) -> Any:
        return getattr(request.app.state, name)

    return get


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison, as `If-None-Match` uses: any listed tag, `W/` aside, or *."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def conditional_json(request: Request, body: bytes, etag: str, cache_control: str) -> Response:
    """`body` (JSON) with its ETag and Cache-Control, or a bare 304 with the same headers when
    the request's `If-None-Match` names that ETag."""
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def install_common(app: FastAPI, invalid_input_status: int = 400, internal: bool = True) -> None:
    """Request context, the standard error format and, for `internal` apps (every app but
    the storefront, which the internet reaches), the Dapr app API token check: with
    APP_API_TOKEN set (daprd then sends it), only the app's own sidecar is answered. Every
    app also gets the operations routes (`/ops/*`, apps/platform/ops.py)."""
    from apps.platform.context import AppTokenMiddleware
    from apps.platform.ops import ops_router

    app.add_middleware(RequestContextMiddleware)
    if internal:
        app.add_middleware(AppTokenMiddleware, token=os.environ.get("APP_API_TOKEN") or None)
    install_error_handlers(app, invalid_input_status)
    app.include_router(ops_router())


def replaying(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that gives the request messages already read, then reads on."""

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay


class BodyLimitMiddleware:
    """413 in the standard error format for a body over `max_bytes`, whether announced by
    Content-Length or streamed without one; nothing reaches the routes."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            if length.isdigit() and int(length) > self.max_bytes:
                await self._refuse(scope, send)
                return
            await self.app(scope, receive, send)
            return
        # Streamed without a length: read it here (at most `max_bytes`), then replay it.
        messages: list[Any] = []
        seen = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                await self._refuse(scope, send)
                return
            if not message.get("more_body", False):
                break

        await self.app(scope, replaying(messages, receive), send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        response = error_response(
            Request(scope),
            413,
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"Request body larger than {self.max_bytes} bytes",
            {"max_bytes": self.max_bytes},
            headers={"Connection": "close"},
        )
        await response(scope, _no_body, send)


async def _no_body() -> Any:
    return {"type": "http.request", "body": b"", "more_body": False}
