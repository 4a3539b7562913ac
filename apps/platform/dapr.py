"""Dapr I/O shared by the apps' adapters: one client set per process, made in the lifespan.

- state and pub/sub: the SDK's asyncio gRPC `DaprClient` (one channel, reused);
- service invocation: the sidecar's HTTP invoke API through one pooled `httpx.AsyncClient`.
  The SDK's HTTP invoker opens an aiohttp session per call and turns a callee's error body
  into an exception; the documented HTTP API keeps the callee's status and error body so
  the gateway can pass them through unchanged.
"""

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import httpx
import structlog
from dapr.aio.clients import DaprClient
from httpx_aiohttp import AiohttpTransport

from apps.contracts.errors import DomainError, ErrorCode, InvalidRequest
from apps.contracts.events import EventEnvelope, utcnow
from apps.contracts.names import SECRET_STORE
from apps.platform.http import CORRELATION_ID_HEADER, REQUEST_ID_HEADER, safe_id
from apps.platform.settings import AppSettings
from apps.platform.telemetry import inject_trace_headers
from apps.platform.urls import segment

log = structlog.stdlib.get_logger("dapr")
T = TypeVar("T")

TRACEPARENT = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")
#: W3C trace-context list members: printable ASCII, bounded (the spec's 32 members).
TRACESTATE = re.compile(r"[\x20-\x7e]{1,512}")
#: What a call carries on from the request that caused it, each only in a valid shape.
FORWARDED_HEADERS: dict[str, Callable[[str], bool]] = {
    REQUEST_ID_HEADER: lambda v: safe_id(v) is not None,
    CORRELATION_ID_HEADER: lambda v: safe_id(v) is not None,
    "traceparent": lambda v: TRACEPARENT.fullmatch(v) is not None,
    "tracestate": lambda v: TRACESTATE.fullmatch(v) is not None,
}


@dataclass
class InvokeResult:
    status: int
    body: Any
    headers: httpx.Headers
    #: The callee's JSON exactly as it came (passed on without encoding it again).
    raw: bytes = b""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def body_or_raise(self) -> Any:
        """The body of a 2xx; otherwise the callee's standard error raised as a DomainError
        (same code, message and details), so a caller's caller sees the real reason."""
        if self.ok:
            return self.body
        error = (self.body or {}).get("error", {}) if isinstance(self.body, dict) else {}
        try:
            code = ErrorCode(error.get("code", ErrorCode.SERVICE_UNAVAILABLE))
        except ValueError:
            code = ErrorCode.SERVICE_UNAVAILABLE
        raw_details = error.get("details")
        details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
        raise DomainError(
            error.get("message", f"call failed with {self.status}"), code=code, **details
        )


#: aiohttp's errors as httpx's, most specific first (httpx-aiohttp's own table turns a
#: refused connection into a ConnectTimeout).
AIOHTTP_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.ClientConnectionError, httpx.NetworkError),
    (TimeoutError, httpx.TimeoutException),
)


class AiohttpSidecarTransport(AiohttpTransport):
    """aiohttp's connection pool behind httpx's API. httpcore's pool looks at every idle
    connection (a readability syscall each) for every request it places and again as each
    response closes, and can lose a slot when a call is cancelled at the wrong moment; on
    this project's 2-core machine it cost ~1.7-1.8 ms of client CPU per call against
    ~0.33-0.35 ms for aiohttp's (`./taskw bench:client`)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.TransportError as exc:
            raise _httpx_error(exc.__cause__, exc) from exc.__cause__ or exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _httpx_error(exc, exc) from exc


def _httpx_error(cause: BaseException | None, exc: BaseException) -> httpx.TransportError:
    for aio, mapped in AIOHTTP_ERRORS:
        if isinstance(cause, aio):
            return mapped(str(cause) or aio.__name__)
    return exc if isinstance(exc, httpx.TransportError) else httpx.NetworkError(str(exc))


def sidecar_transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    """The connection pool of an app's calls to its sidecar; its errors reach callers as
    httpx's (`httpx.TransportError` subclasses)."""
    return AiohttpSidecarTransport(limits=limits)


class SidecarClient(httpx.AsyncClient):
    """The pooled HTTP client for the app's own sidecar:
    - at most `sidecar_concurrency` calls in flight (the rest wait their turn, within the
      pool timeout), so one burst cannot take every connection;
    - a caller that is cancelled (client gone, a timeout around it) does not cancel the call
      inside the pool: the call finishes (bounded by its own timeout) and frees its slot;
    - aiohttp's connection pool (`sidecar_transport`), and a record of when calls began to
      fail, for liveness."""

    def __init__(self, settings: AppSettings) -> None:
        # No more connections than calls in flight.
        self.pool = sidecar_transport(httpx.Limits(max_connections=settings.sidecar_concurrency))
        super().__init__(
            base_url=settings.dapr_http_endpoint,
            timeout=httpx.Timeout(settings.invoke_timeout_seconds, connect=2.0),
            headers=settings.sidecar_headers,
            transport=self.pool,
        )
        self._gate = asyncio.Semaphore(settings.sidecar_concurrency)
        #: Monotonic time of the first failed call since the last success (None: healthy).
        self.failing_since: float | None = None

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        async with self._gate:
            call = asyncio.ensure_future(super().send(request, **kwargs))
            call.add_done_callback(_retrieve)
            try:
                response = await asyncio.shield(call)
            except httpx.TransportError:
                if self.failing_since is None:
                    self.failing_since = time.monotonic()
                raise
        self.failing_since = None
        return response


def _retrieve(call: "asyncio.Future[httpx.Response]") -> None:
    """Take the outcome of a call whose caller was cancelled (no 'never retrieved' noise)."""
    if not call.cancelled():
        call.exception()


class Sidecar:
    """The app's handles on its own sidecar. Create once in the lifespan; close at shutdown."""

    def __init__(self, settings: AppSettings, *, grpc: bool = True) -> None:
        """`grpc=False` for apps that only invoke (the SDK client waits for the sidecar)."""
        self.settings = settings
        self.http = SidecarClient(settings)
        self._client = DaprClient(address=f"127.0.0.1:{settings.dapr_grpc_port}") if grpc else None

    @property
    def client(self) -> DaprClient:
        if self._client is None:
            raise RuntimeError("this app's Sidecar was made without the gRPC client")
        return self._client

    async def close(self) -> None:
        await self.http.aclose()
        if self._client is not None:
            await self._client.close()

    # -- service invocation ------------------------------------------------------------
    async def invoke(
        self,
        app_id: str,
        path: str,
        *,
        method: str = "GET",
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        content: bytes | None = None,
    ) -> InvokeResult:
        """Call `path` on `app_id` through the sidecar; never raises for the callee's 4xx/5xx.
        `timeout` (seconds) overrides the client's for a call that must answer quickly;
        `content` sends raw bytes instead of `json_body` (e.g. a signed webhook).

        A sidecar that cannot reach the callee answers 500 with an `ERR_DIRECT_INVOKE`-style
        body; that is reported as 503 SERVICE_UNAVAILABLE in the standard error format.
        """
        url = invoke_url(app_id, path)
        try:
            resp = await self.http.request(
                method,
                url,
                json=json_body if content is None else None,
                content=content,
                params=params,
                headers=headers or {},
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            log.warning("sidecar unreachable", app_id=app_id, path=path, error=str(exc))
            return _unavailable(app_id, f"sidecar unreachable: {exc.__class__.__name__}")
        return _result(app_id, resp)

    async def invoke_actor(
        self,
        actor_type: str,
        actor_id: str,
        method: str,
        payload: Any = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> InvokeResult:
        """Call an actor method through the Dapr HTTP actor API with plain JSON (what a
        service in any language does); daprd's own failures come back as 503."""
        url = actor_url(actor_type, actor_id, method)
        try:
            resp = await self.http.put(
                url,
                content=json.dumps(payload) if payload is not None else b"",
                headers={"Content-Type": "application/json", **(headers or {})},
            )
        except httpx.HTTPError as exc:
            log.warning("sidecar unreachable", actor=actor_type, method=method, error=str(exc))
            return _unavailable(actor_type, f"sidecar unreachable: {exc.__class__.__name__}")
        return _result(actor_type, resp)

    async def secret(self, name: str, store: str | None = None) -> str:
        """One value from a secret store (Key Vault in Azure, a local file here): `store`, or
        the one that holds `name` (`SECRET_STORE`). Each store is scoped to the apps that
        read it, so a sidecar without it answers an error and this raises."""
        if store is None:
            if name not in SECRET_STORE:
                raise ValueError(f"secret {name!r} is in no known store: name the store")
            store = SECRET_STORE[name]
        resp = await self.http.get(f"/v1.0/secrets/{segment(store)}/{segment(name)}")
        if resp.status_code != 200:
            raise RuntimeError(f"secret {name!r} unavailable ({resp.status_code}): {resp.text}")
        return str(resp.json()[name])

    # -- health ------------------------------------------------------------------------
    async def live_problem(self) -> str | None:
        """Why this process should be restarted: its calls to the sidecar have failed for
        longer than `sidecar_dead_seconds` and a fresh probe fails too. Probes only after a
        failure, so a healthy app's liveness costs nothing."""
        if self.http.failing_since is None:
            return None
        with contextlib.suppress(httpx.HTTPError):  # a failure is recorded by the client
            await self.http.get("/v1.0/healthz/outbound", timeout=2.0)
        since = self.http.failing_since
        if since is None:
            return None
        down = time.monotonic() - since
        if down < self.settings.sidecar_dead_seconds:
            return None
        return f"sidecar unreachable for {down:.0f} s"

    async def ready(self, required_components: set[str]) -> list[str]:
        """Problems that keep this app from serving: sidecar down or components not loaded."""
        problems: list[str] = []
        try:
            health = await self.http.get("/v1.0/healthz", timeout=2.0)
            if health.status_code != 204:
                problems.append(f"sidecar not healthy ({health.status_code})")
            meta = (await self.http.get("/v1.0/metadata", timeout=2.0)).json()
        except (httpx.HTTPError, ValueError) as exc:
            return [f"sidecar unreachable: {exc.__class__.__name__}"]
        loaded = {c.get("name") for c in meta.get("components", [])}
        missing = sorted(required_components - loaded)
        if missing:
            problems.append(f"components not loaded: {', '.join(missing)}")
        return problems

    # -- pub/sub -----------------------------------------------------------------------
    async def publish_http(self, pubsub: str, topic: str, event: EventEnvelope) -> None:
        """Publish one envelope through the sidecar's HTTP API (for apps made without the
        gRPC client); raises on failure so the caller can retry."""
        resp = await self.http.post(
            f"/v1.0/publish/{segment(pubsub)}/{segment(topic)}",
            content=event.model_dump_json(),
            headers={"Content-Type": "application/json"},
            params={
                "metadata.cloudevent.id": event.event_id,
                "metadata.cloudevent.type": event.event_type,
            },
        )
        if resp.status_code >= 300:
            raise DomainError(
                f"publish to {topic} failed ({resp.status_code}): {resp.text[:200]}",
                code=ErrorCode.SERVICE_UNAVAILABLE,
            )

    async def publish(self, topic: str, event: EventEnvelope) -> None:
        """Publish one envelope; the CloudEvent id is the event id so consumers can dedupe."""
        await self.client.publish_event(
            pubsub_name=self.settings.pubsub,
            topic_name=topic,
            data=event.model_dump_json(),
            data_content_type="application/json",
            publish_metadata={
                "cloudevent.id": event.event_id,
                "cloudevent.type": event.event_type,
            },
        )


class SyncInvoker:
    """Blocking service invocation for workflow activities, which run in worker threads:
    each call runs on the app's event loop through its `Sidecar` (one connection pool for
    the whole app) and the activity's thread waits for the answer."""

    def __init__(self, sidecar: Sidecar, loop: asyncio.AbstractEventLoop) -> None:
        self.sidecar = sidecar
        self.loop = loop

    def _run(self, call: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(call, self.loop).result()

    def invoke(
        self,
        app_id: str,
        path: str,
        *,
        method: str = "GET",
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> InvokeResult:
        return self._run(
            self.sidecar.invoke(app_id, path, method=method, json_body=json_body, headers=headers)
        )

    def invoke_actor(
        self, actor_type: str, actor_id: str, method: str, payload: Any = None
    ) -> InvokeResult:
        """The sidecar's HTTP actor API with plain JSON (as `Sidecar.invoke_actor`)."""
        return self._run(self.sidecar.invoke_actor(actor_type, actor_id, method, payload))

    def publish(self, pubsub: str, topic: str, event: EventEnvelope) -> None:
        """Publish one envelope (CloudEvent id = event id, so consumers can dedupe); raises
        on failure so the calling activity is retried."""
        self._run(self.sidecar.publish_http(pubsub, topic, event))


def invoke_url(app_id: str, path: str) -> str:
    """The sidecar's invoke path for a method path of `app_id`. Paths are built from ids
    the routes validated; a `.` or `..` segment (which would climb out of the method
    path) is refused here too, whatever the caller checked."""
    method = path.lstrip("/")
    if any(part in (".", "..") for part in method.split("?")[0].split("/")):
        raise InvalidRequest("Invalid identifier in the request", path=method[:200])
    return f"/v1.0/invoke/{segment(app_id)}/method/{method}"


def actor_url(actor_type: str, actor_id: str, method: str) -> str:
    """The sidecar's actor API path for one method call, every part encoded."""
    return f"/v1.0/actors/{segment(actor_type)}/{segment(actor_id)}/method/{segment(method)}"


def _result(app_id: str, resp: httpx.Response) -> InvokeResult:
    body: Any
    try:
        body = resp.json() if resp.content else None
    except json.JSONDecodeError:
        body = {"raw": resp.text}
    if resp.status_code >= 500 and isinstance(body, dict) and "errorCode" in body:
        # An error from daprd itself (callee down, no route), not from the callee app.
        return _unavailable(app_id, str(body.get("message", body["errorCode"])))
    json_raw = resp.content if "json" in resp.headers.get("content-type", "") else b""
    return InvokeResult(resp.status_code, body, resp.headers, json_raw)


def _unavailable(app_id: str, message: str) -> InvokeResult:
    """503 in the standard format; what daprd said stays in our log, not in the answer."""
    log.warning("callee unavailable", app_id=app_id, reason=message[:500])
    body = {
        "error": {
            "code": ErrorCode.SERVICE_UNAVAILABLE.value,
            "message": f"{app_id} is unavailable; try again",
            "details": {"app_id": app_id},
            "timestamp": utcnow().isoformat(),
        }
    }
    return InvokeResult(503, body, httpx.Headers())


def forwarded_headers(incoming: Any) -> dict[str, str]:
    """Headers to carry from an incoming request into the calls it makes: request and
    correlation ids, and the current span's trace context (a child of the caller's)."""
    headers = {h: incoming[h] for h, ok in FORWARDED_HEADERS.items() if ok(incoming.get(h, ""))}
    return inject_trace_headers(headers)
