"""The storefront API as the web app calls it: through this app's own Dapr sidecar (service
invocation to `storefront`), with the visitor's token or guest session, their address and
user agent, and one transparent token refresh. Errors come back as `ApiError`, the API's
error format taken apart into a message and per-field messages for the forms."""

import asyncio
import contextlib
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import Request

from apps.platform.dapr import Sidecar, forwarded_headers, invoke_url
from apps.web.session import WebSession

#: Renew the access token this long before it expires (a page makes several calls).
REFRESH_MARGIN_SECONDS = 30
SESSION_HEADER = "X-Session-Id"


@dataclass
class ApiError(Exception):
    """An answer other than 2xx: the status, the API's code and message, and the messages
    about single fields (`{"email": "value is not a valid email address"}`)."""

    status: int
    code: str
    message: str
    fields: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    @classmethod
    def of(cls, status: int, body: Any) -> "ApiError":
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return cls(status, "HTTP_ERROR", _STATUS_MESSAGES.get(status, "Something went wrong"))
        details = error.get("details") if isinstance(error.get("details"), dict) else {}
        fields: dict[str, str] = {}
        for item in details.get("errors", []) if isinstance(details.get("errors"), list) else []:
            loc = [str(p) for p in item.get("loc", []) if p not in ("body", "query", "path")]
            if loc:
                fields.setdefault(".".join(loc), friendly(str(item.get("msg", ""))))
        if isinstance(details.get("field"), str):
            fields.setdefault(details["field"], str(error.get("message", "")))
        message = str(error.get("message") or _STATUS_MESSAGES.get(status, "Something went wrong"))
        return cls(status, str(error.get("code", "HTTP_ERROR")), message, fields, details)


_STATUS_MESSAGES = {
    400: "Please check what you entered.",
    401: "Please sign in.",
    403: "You do not have access to this.",
    404: "We could not find that.",
    409: "This changed while you were looking at it; please try again.",
    422: "Please check what you entered.",
    429: "Too many attempts; please wait a moment.",
    503: "This part of the shop is busy; please try again shortly.",
}


def friendly(msg: str) -> str:
    """pydantic's message, readable by a shopper ('Value error, x' -> 'x', capitalised)."""
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    return (msg[:1].upper() + msg[1:]) if msg else "This value is not valid"


#: Reads that are the same for every visitor (the public catalog, categories, banners): the
#: web app answers them from PublicCache. Anything else (a cart, an order, an account, a
#: staff list) is asked for every time, with the visitor's own token.
PUBLIC = re.compile(
    r"^api/(products(/(search|filters|featured)|/[^/]+(/(related|reviews|inventory))?)?"
    r"|categories(/[^/]+)?|banners/active)$"
)
Fetch = Callable[[str, dict[str, Any]], Awaitable[tuple[int, Any]]]


class PublicCache:
    """Public API reads shared by every visitor of this replica, so a catalog page costs its
    rendering rather than four trips through two sidecars:

    - fresh for `ttl` seconds (2 s): answered from memory;
    - then, up to `stale` seconds more (30 s), still answered from memory at once while one
      call in the background fetches the new answer (stale-while-revalidate);
    - older, or never asked: the page waits for the call. Concurrent misses of one key make
      one call (the rest await it); answers other than 200/404 are never kept; the oldest
      entries go first past `max_entries`;
    - at most `refreshes` background refreshes at a time and `refresh_rate` a second: with
      hundreds of pages in view, refreshing every one as its `ttl` passes would take more of
      the machine than the pages themselves (500 product pages ask ~750 refreshes a
      second). A stale answer whose refresh finds the budget spent is still served, and
      refreshed by a later view (or waited for once it is older than `ttl + stale`): under
      load pages get older within the bound below instead of slower.

    Staleness bound: a change shows on a page viewed at least every `stale` seconds within
    `ttl` + the time to the next view + the storefront's own read cache (2 s); on any page
    within `ttl + stale` + 2 s (32 s by default). Checkout never relies on it: the cart and
    the saga price and reserve against the catalog itself."""

    def __init__(
        self,
        ttl: float,
        stale: float = 30.0,
        max_entries: int = 5000,
        refreshes: int = 4,
        refresh_rate: float = 20.0,
    ) -> None:
        self.ttl = ttl
        self.stale = stale
        self.max_entries = max_entries
        self.refreshes = refreshes
        self.refresh_rate = refresh_rate
        #: Token bucket of refreshes: up to one second's worth saved, one more per 1/rate s.
        self._tokens = refresh_rate
        self._tokens_at = time.monotonic()
        self.entries: OrderedDict[str, tuple[float, int, Any]] = OrderedDict()
        self.pending: dict[str, asyncio.Future[tuple[int, Any]]] = {}
        self.refreshing: set[asyncio.Task[Any]] = set()

    @staticmethod
    def key(path: str, params: dict[str, Any]) -> str:
        kept = sorted((k, str(v)) for k, v in params.items() if v not in (None, "", []))
        return path + "?" + urlencode(kept)

    async def get(self, path: str, params: dict[str, Any], fetch: Fetch) -> tuple[int, Any]:
        key = self.key(path, params)
        found = self.entries.get(key)
        if found is not None:
            age = time.monotonic() - found[0]
            if age < self.ttl:
                return found[1], found[2]
            if age < self.ttl + self.stale:
                if (
                    key not in self.pending
                    and len(self.refreshing) < self.refreshes
                    and self._may_refresh()
                ):
                    self.pending[key] = asyncio.get_running_loop().create_future()
                    task = asyncio.create_task(self._load(key, path, params, fetch))
                    self.refreshing.add(task)
                    task.add_done_callback(_settled(self.refreshing))
                return found[1], found[2]
        waiting = self.pending.get(key)
        if waiting is not None:
            return await asyncio.shield(waiting)
        self.pending[key] = asyncio.get_running_loop().create_future()
        return await self._load(key, path, params, fetch)

    def _may_refresh(self) -> bool:
        """Take one refresh from the bucket (False: this second's refreshes are spent)."""
        now = time.monotonic()
        self._tokens = min(
            self.refresh_rate, self._tokens + (now - self._tokens_at) * self.refresh_rate
        )
        self._tokens_at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    async def _load(
        self, key: str, path: str, params: dict[str, Any], fetch: Fetch
    ) -> tuple[int, Any]:
        """The one call for `key` (its future is in `pending`), kept when it is an answer."""
        future = self.pending[key]
        try:
            clean = {k: v for k, v in params.items() if v not in (None, "", [])}
            status, body = await fetch(path, clean)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" noise when nobody waits
            raise
        finally:
            self.pending.pop(key, None)
        if status in (200, 404):
            self.entries[key] = (time.monotonic(), status, body)
            self.entries.move_to_end(key)
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)
        future.set_result((status, body))
        return status, body


def _body_or_raise(response: httpx.Response) -> Any:
    """The JSON body of a 2xx answer (None when empty or not JSON); `ApiError` otherwise."""
    body: Any = None
    if response.content:
        try:
            body = response.json()
        except ValueError:
            body = None
    if response.status_code >= 400:
        raise ApiError.of(response.status_code, body)
    return body


def _settled(tasks: set[asyncio.Task[Any]]) -> Callable[[asyncio.Task[Any]], None]:
    """Forget a finished background refresh; its failure leaves the old answer in place."""

    def done(task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled():
            task.exception()

    return done


@dataclass
class Kept:
    """A visitor's own answer kept by `Storefront.get_private`: the body, its ETag, and what
    a page derived from it (e.g. its charts), reused for as long as the body is."""

    etag: str
    body: Any
    derived: dict[str, Any] = field(default_factory=dict)
    #: Until when (monotonic) it may be shown without asking: the answer's `private,
    #: max-age`; 0 when it said nothing, `no-cache` or `no-store`.
    fresh_until: float = 0.0


def max_age(cache_control: str) -> float:
    """Seconds a private cache may reuse an answer without asking (0: ask every time)."""
    words = [w.strip().lower() for w in cache_control.split(",")]
    if "no-cache" in words or "no-store" in words:
        return 0.0
    for word in words:
        name, _, value = word.partition("=")
        if name == "max-age" and value.isdigit():
            return min(float(value), 60.0)
    return 0.0


class Storefront:
    """Calls to the storefront API on behalf of one request's visitor."""

    #: Answers kept by `get_private` (per visitor and address), the oldest going first.
    PRIVATE_ENTRIES = 512

    def __init__(
        self, sidecar: Sidecar, app_id: str, timeout: float, cache: "PublicCache | None" = None
    ) -> None:
        self.sidecar = sidecar
        self.app_id = app_id
        self.timeout = timeout
        self.cache = cache
        self.background: set[asyncio.Task[None]] = set()
        self.private: OrderedDict[tuple[str, str], Kept] = OrderedDict()

    def _headers(self, request: Request, session: WebSession) -> dict[str, str]:
        headers = forwarded_headers(request.headers)
        ip = request.client.host if request.client else ""
        xff = request.headers.get("x-forwarded-for")
        headers["X-Forwarded-For"] = f"{xff}, {ip}" if xff else ip
        headers["User-Agent"] = request.headers.get("user-agent", "")[:300]
        headers["Accept-Language"] = request.headers.get("accept-language", "")[:200]
        if session.signed_in:
            headers["Authorization"] = f"Bearer {session.access}"
        headers[SESSION_HEADER] = session.guest_session()
        return headers

    async def _refresh(self, request: Request, session: WebSession) -> bool:
        """A new token pair for a signed-in session; signs the session out if refused."""
        if not session.refresh:
            session.sign_out()
            return False
        response = await self.sidecar.http.post(
            invoke_url(self.app_id, "api/auth/refresh"),
            json={"refresh_token": session.refresh},
            headers={SESSION_HEADER: session.guest_session()},
            timeout=self.timeout,
        )
        if response.status_code != 200:
            session.sign_out()
            session.notify("Your session ended; please sign in again.", "warning")
            return False
        session.sign_in(response.json())
        return True

    async def raw(
        self,
        request: Request,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """The answer as it came (any status); refreshes an expiring token first, and once
        more on a 401 for a signed-in visitor."""
        session: WebSession = request.state.session
        if session.signed_in and session.access_expires - time.time() < REFRESH_MARGIN_SECONDS:
            await self._refresh(request, session)
        url = invoke_url(self.app_id, path.lstrip("/"))
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "", [])}
        for attempt in (0, 1):
            sent = {**self._headers(request, session), **(headers or {})}
            try:
                response = await self.sidecar.http.request(
                    method, url, json=json, params=clean, headers=sent, timeout=self.timeout
                )
            except httpx.HTTPError as exc:
                raise ApiError(503, "SERVICE_UNAVAILABLE", _STATUS_MESSAGES[503]) from exc
            if response.status_code == 500 and "errorCode" in response.text[:200]:
                raise ApiError(503, "SERVICE_UNAVAILABLE", _STATUS_MESSAGES[503])
            retry = response.status_code == 401 and attempt == 0 and session.signed_in
            if retry and await self._refresh(request, session):
                continue
            return response
        return response

    async def call(
        self,
        request: Request,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """The JSON body of a 2xx answer (None when empty); `ApiError` otherwise."""
        response = await self.raw(request, method, path, json=json, params=params, headers=headers)
        return _body_or_raise(response)

    def send_later(self, request: Request, path: str, json: Any) -> None:
        """POST `json` to `path` after the page has gone (an analytics beacon): never waits,
        never refreshes a token (a refresh made after the cookie was sent would be lost and
        its successor's reuse end the sign-in), never fails the page."""
        session: WebSession = request.state.session
        if session.signed_in and session.access_expires - time.time() < REFRESH_MARGIN_SECONDS:
            return
        headers = self._headers(request, session)
        url = invoke_url(self.app_id, path.lstrip("/"))
        task = asyncio.create_task(self._quietly(url, json, headers))
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def _quietly(self, url: str, json: Any, headers: dict[str, str]) -> None:
        # A lost beacon is a lost page view in the funnel, nothing more.
        with contextlib.suppress(httpx.HTTPError):
            await self.sidecar.http.post(url, json=json, headers=headers, timeout=self.timeout)

    async def get(self, request: Request, path: str, **params: Any) -> Any:
        """GET `path`; a public catalog read is answered from the shared cache (PUBLIC)."""
        if self.cache is not None and PUBLIC.match(path.lstrip("/")):
            status, body = await self.cache.get(path.lstrip("/"), params, self._anonymous_get)
            if status >= 400:
                raise ApiError.of(status, body)
            return body
        return await self.call(request, "GET", path, params=params)

    async def get_private(self, request: Request, path: str, **params: Any) -> Kept:
        """GET `path` as this visitor, as a private HTTP cache would: their last answer for
        this address is kept (for them alone: the key is their user id); within the answer's
        own `private, max-age` it is shown again without a call, after that it is asked for
        with `If-None-Match` and a 304 reuses it. The API checks the visitor on every call it
        gets, so a revoked sign-in or a lost role ends access within that max-age (the pages
        check the role in the session first)."""
        session: WebSession = request.state.session
        who = session.user.get("user_id") if session.signed_in and session.user else None
        key = (str(who or session.guest_session()), PublicCache.key(path, params))
        kept = self.private.get(key)
        now = time.monotonic()
        if kept is not None and now < kept.fresh_until:
            return kept
        headers = {"If-None-Match": kept.etag} if kept is not None and kept.etag else None
        response = await self.raw(request, "GET", path, params=params, headers=headers)
        if response.status_code == 304 and kept is not None:
            kept.fresh_until = now + max_age(response.headers.get("cache-control", ""))
            self.private.move_to_end(key)
            return kept
        if response.status_code >= 400:
            self.private.pop(key, None)
        kept = Kept(response.headers.get("etag", ""), _body_or_raise(response))
        kept.fresh_until = now + max_age(response.headers.get("cache-control", ""))
        if kept.etag or kept.fresh_until > now:
            self.private[key] = kept
            self.private.move_to_end(key)
            while len(self.private) > self.PRIVATE_ENTRIES:
                self.private.popitem(last=False)
        return kept

    async def _anonymous_get(self, path: str, params: dict[str, Any]) -> tuple[int, Any]:
        """A public read made as nobody (no token, no session): the same for every visitor."""
        try:
            response = await self.sidecar.http.get(
                invoke_url(self.app_id, path), params=params, timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            raise ApiError(503, "SERVICE_UNAVAILABLE", _STATUS_MESSAGES[503]) from exc
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        if response.status_code == 500 and isinstance(body, dict) and "errorCode" in body:
            raise ApiError(503, "SERVICE_UNAVAILABLE", _STATUS_MESSAGES[503])
        return response.status_code, body
