"""The storefront's calls to the domain apps: Dapr service invocation, passed through.

The callee's status, error body (already in the standard format) and the headers a
client needs (ETag, Location, Idempotent-Replayed) reach the shopper unchanged; the
request id is stamped on errors that lack one.
"""

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from apps.contracts.errors import CODE_FOR_STATUS, ErrorCode
from apps.contracts.events import utcnow
from apps.contracts.identity import ANONYMOUS
from apps.contracts.names import AppId
from apps.platform.context import CONTEXT_HEADER, sign_context
from apps.platform.dapr import InvokeResult, Sidecar, forwarded_headers
from apps.platform.http import (
    CORRELATION_ID_HEADER,
    REQUEST_ID_HEADER,
    error_response,
    request_id_of,
)
from apps.storefront.read_cache import Cached, ReadCache

PASSED_HEADERS = ("ETag", "Location", "Idempotent-Replayed", "Cache-Control")


def idempotency_header(key: str | None) -> dict[str, str] | None:
    """The client's `Idempotency-Key`, passed on to the app that makes the change."""
    return {"Idempotency-Key": key} if key else None


async def forward(
    request: Request,
    app_id: str,
    path: str,
    *,
    method: str = "GET",
    body: Any = None,
    params: dict[str, Any] | None = None,
    extra_headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> Response:
    sidecar: Sidecar = request.app.state.sidecar
    headers = {**(await outgoing_headers(request)), **(extra_headers or {})}
    result = await sidecar.invoke(
        app_id, path, method=method, json_body=body, params=params, headers=headers, content=content
    )
    if app_id == AppId.CATALOG and method != "GET":
        request.app.state.read_cache.clear()  # this replica shows a catalog write at once
    return to_response(request, result)


async def cached_read(
    request: Request, app_id: str, path: str, params: dict[str, Any] | None = None
) -> Response:
    """A public catalog read through the gateway's cache (`read_cache`): the same for every
    caller, served from memory while fresh, with a strong ETag and 304s."""
    cache: ReadCache = request.app.state.read_cache
    if not cache.enabled:
        return await forward(request, app_id, path, params=params)
    key = f"{request.url.path}?{request.url.query}"
    refused: list[Response] = []

    async def fetch() -> Cached | None:
        response = await forward(request, app_id, path, params=params)
        if response.status_code != 200:
            refused.append(response)
            return None
        return cache.put(key, bytes(response.body), response.headers.get("etag"))

    hit = cache.get(key)
    if hit is not None:
        cache.renew_ahead(key, hit, fetch)
    else:
        hit = await cache.fetch_once(key, fetch)
        if hit is None:  # not cacheable: this caller's own answer (a 404, an error)
            return refused[0] if refused else await forward(request, app_id, path, params=params)
    return hit.answer(request, cache.cache_control)


async def outgoing_headers(request: Request) -> dict[str, str]:
    """What every call on behalf of `request` carries: request and correlation ids, the trace
    context and the signed context of the caller the gateway verified (anonymous without a
    token); a client's own `X-SC-Context` is never passed on."""
    principal = getattr(request.state, "principal", ANONYMOUS)
    return {
        **forwarded_headers(request.headers),
        REQUEST_ID_HEADER: request_id_of(request),
        CORRELATION_ID_HEADER: str(request.state.correlation_id),
        CONTEXT_HEADER: sign_context(principal, await request.app.state.context_key.get()),
    }


def to_response(request: Request, result: InvokeResult) -> Response:
    headers = {h: result.headers[h] for h in PASSED_HEADERS if h in result.headers}
    if result.status == 204 or result.body is None:
        return Response(status_code=result.status, headers=headers)
    body = result.body
    if result.ok and result.raw:
        return Response(
            result.raw, status_code=result.status, headers=headers, media_type="application/json"
        )
    if result.ok:
        return JSONResponse(body, status_code=result.status, headers=headers)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):  # not our format (the HTTP server or daprd answered)
        code = CODE_FOR_STATUS.get(result.status, ErrorCode.SERVICE_UNAVAILABLE)
        status = result.status if result.status in CODE_FOR_STATUS else 503
        return error_response(request, status, code, code.value.replace("_", " ").capitalize())
    error.setdefault("details", {})
    error.setdefault("timestamp", utcnow().isoformat())
    if not error.get("request_id"):
        error["request_id"] = request_id_of(request)
    return JSONResponse(body, status_code=result.status, headers=headers)
