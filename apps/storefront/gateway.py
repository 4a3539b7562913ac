"""The storefront's door policies: rate limits counted in a store every replica shares,
security headers, request-size limits (413) and the client address behind the ingress."""

import asyncio
import json
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog
from fastapi import Request

from apps.contracts.errors import DomainError, ErrorCode, InvalidRequest, TooManyRequests
from apps.platform.state import JsonStateStore

log = structlog.stdlib.get_logger("storefront.gateway")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def window_of(now: float, window: int) -> tuple[int, int]:
    """(start of the fixed window `now` falls in, seconds until it ends)."""
    start = int(now // window) * window
    return start, max(1, math.ceil(start + window - now))


def count_or_refuse(current: Any | None, limit: int, carried: int = 0) -> Any | None:
    """The counter after one more hit, or None when the limit is reached (pure). `carried`
    is what the previous window still weighs (see `carried_over`)."""
    count = int((current or {}).get("count", 0))
    return None if count + carried >= limit else {"count": count + 1}


def carried_over(previous: int, elapsed: float, window: int) -> int:
    """The sliding-window weight of the previous fixed window's count, `elapsed` seconds
    into the current one: its hits count pro rata to the part of the sliding window that
    still overlaps it, rounded up — so a burst across a window boundary is not let through
    twice (a fixed window alone admits 2 x limit there)."""
    return math.ceil(previous * max(0.0, 1 - elapsed / window) - 1e-9)


def sliding_retry_after(
    current: int, previous: int, elapsed: float, window: int, limit: int
) -> int:
    """Seconds until one more hit would be admitted (pure): when the previous window's
    weight has decayed enough, or — if this window alone is full — until the next window
    lets this one decay."""
    if current < limit:
        room = limit - current - 1  # what the carried weight may still be
        wait = window * (1 - room / previous) - elapsed if previous else 0.0
    else:
        wait = (window - elapsed) + window * (1 - (limit - 1) / current)
    return max(1, math.ceil(wait))


class RateLimiter:
    """Fixed-window counters in the `ratelimit` state store (PostgreSQL, TTL'd rows): every
    storefront replica counts in the same place.

    Two ways to count: `hit` writes through at once (compare-and-set; for the low-volume,
    strict sign-in limits) and weighs the previous window in (a sliding-window counter, so
    attempts straddling a window boundary are not admitted twice), `hit_batched` counts in
    memory against the shared total last seen and `flush` (every `flush_seconds`, in the
    background) adds the local counts to the shared ones and reads the totals back — so busy
    keys (one address, one user) do not serialise every request on one row; across replicas
    a limit can be overshot by what they admit in one flush interval. The store failing lets
    requests through (logged): the limits protect the shop, they must not take it down."""

    def __init__(
        self, store: JsonStateStore, window_seconds: int = 60, flush_seconds: float = 0.5
    ) -> None:
        self.store = store
        self.window = window_seconds
        self.flush_seconds = flush_seconds
        self.pending: dict[str, int] = {}  # row -> hits not yet added to the shared count
        self.shared: dict[str, int] = {}  # row -> shared count as last read

    def _row(self, key: str) -> tuple[str, int]:
        start, retry_after = window_of(time.time(), self.window)
        return f"rl:{key}:{start}", retry_after

    def _refuse(self, what: str, retry_after: int, limit: int) -> TooManyRequests:
        return TooManyRequests(
            f"Too many {what}; try again in {retry_after} s",
            retry_after=retry_after,
            limit=limit,
            window_seconds=self.window,
        )

    async def hit(self, key: str, limit: int, what: str) -> None:
        now = time.time()
        start, _ = window_of(now, self.window)
        elapsed = now - start
        row = f"rl:{key}:{start}"
        refused: list[int] = []  # [count in this window] when refused
        try:
            before = await self.store.get(f"rl:{key}:{start - self.window}")
            previous = int(before.value.get("count", 0)) if before else 0
            carried = carried_over(previous, elapsed, self.window)

            def decide(current: Any | None) -> Any | None:
                nxt = count_or_refuse(current, limit, carried)
                refused[:] = [int((current or {}).get("count", 0))] if nxt is None else []
                return nxt

            await self.store.compare_and_set(row, decide, ttl_seconds=self.window * 2)
        except Exception as exc:  # fail open
            log.warning("rate limit store unavailable", key=key, error=str(exc))
            return
        if refused:
            wait = sliding_retry_after(refused[0], previous, elapsed, self.window, limit)
            raise self._refuse(what, wait, limit)

    def hit_batched(self, key: str, limit: int, what: str) -> None:
        row, retry_after = self._row(key)
        if self.shared.get(row, 0) + self.pending.get(row, 0) >= limit:
            raise self._refuse(what, retry_after, limit)
        self.pending[row] = self.pending.get(row, 0) + 1

    async def flush(self) -> None:
        """Add the local counts to the shared rows; remember the totals."""
        current = self._row("")[0].rsplit(":", 1)[1]
        for row in [r for r in self.shared if not r.endswith(f":{current}")]:
            self.shared.pop(row, None)  # windows that ended
        batch, self.pending = self.pending, {}
        for row, hits in batch.items():
            total: list[int] = []

            def add(current_value: Any | None, hits: int = hits, total: list[int] = total) -> Any:
                total[:] = [int((current_value or {}).get("count", 0)) + hits]
                return {"count": total[0]}

            try:
                await self.store.compare_and_set(row, add, ttl_seconds=self.window * 2)
            except Exception as exc:  # keep the hits for the next flush
                log.warning("rate limit flush failed", row=row, error=str(exc))
                self.pending[row] = self.pending.get(row, 0) + hits
                continue
            self.shared[row] = total[0]

    async def run(self) -> None:
        """The background flush loop (started by the app; cancelled at shutdown)."""
        while True:
            await asyncio.sleep(self.flush_seconds)
            await self.flush()


def client_ip(request: Request, trust_forwarded: bool) -> str:
    """The caller's address: the ingress's X-Forwarded-For (first hop) when behind one."""
    if trust_forwarded:
        forwarded = request.headers.get("x-forwarded-for", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first
    return request.client.host if request.client else "unknown"


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
]
API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
NO_STORE = (b"cache-control", b"no-store")


class SecurityHeadersMiddleware:
    """Security headers on every answer; a locked-down CSP on the API (not on /docs, whose
    page loads Swagger UI); `no-store` on account and sign-in answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = list(SECURITY_HEADERS)
        if not path.startswith(("/docs", "/redoc")):
            extra.append(API_CSP)
        if path.startswith(("/api/auth", "/api/users", "/api/admin")):
            extra.append(NO_STORE)

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((k, v) for k, v in extra if k not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


#: The longest request target (path and query) the gateway passes on; its sidecar reads
#: request lines of up to 64 KB (`daprHTTPReadBufferSize`).
MAX_TARGET_BYTES = 32 * 1024


async def refuse_bad_targets_and_nul(request: Request) -> None:
    """No text the gateway passes on may hold NUL (PostgreSQL cannot store it, logs and
    headers cannot carry it): 400, as the OpenAPI document says (`forbid_nul`). A request
    target longer than `MAX_TARGET_BYTES` is a 414."""
    target = len(request.scope.get("raw_path", b"")) + len(request.scope.get("query_string", b""))
    if target > MAX_TARGET_BYTES:
        raise DomainError(
            f"The request URL is longer than {MAX_TARGET_BYTES} bytes",
            code=ErrorCode.URI_TOO_LONG,
        )
    if "%00" in request.url.query or "%00" in request.url.path:
        raise InvalidRequest("NUL characters are not accepted")
    if request.method in ("POST", "PUT", "PATCH") and b"\\u0000" in (body := await request.body()):
        try:
            parsed = json.loads(body)
        except ValueError:
            return  # not JSON: the route's own validation answers
        if _holds_nul(parsed):
            raise InvalidRequest("NUL characters are not accepted")
