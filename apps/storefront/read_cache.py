"""The gateway's cache of public catalog reads (product lists, search, facets, featured,
related, product pages, categories), so most anonymous browsing never leaves the storefront.

- Keyed by path and query exactly as sent; only 200s are kept. These routes take no caller:
  their answer is the same for everyone (nothing personal or signed-in is ever cached).
- Staleness is bounded: an answer is served for at most `ttl` seconds
  (`STOREFRONT_CATALOG_CACHE_SECONDS`, 2 s by default), and every catalog write that passes
  through this replica (a staff product, stock, category or review change) empties its cache
  at once. A price or stock change made elsewhere is visible here within `ttl` seconds plus
  the catalog's own apply delay.
- A hot answer is renewed before it expires: the first hit in the last quarter of its life
  fetches it again in the background (once), so busy pages never miss; concurrent misses
  of one key share one fetch. Neither serves anything past its expiry: the bound holds.
- Each answer carries a strong `ETag` (the catalog's own where it sends one, e.g. a product's
  store ETag that an update names in `If-Match`; else a hash of its bytes: either way every
  replica agrees) and
  `Cache-Control: public, max-age=<ttl>, stale-while-revalidate=<swr>`; `If-None-Match` with
  a current tag is a 304 without a body. An HTTP cache in front may serve a stale answer for
  up to `swr` more seconds while it revalidates.
"""

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from apps.platform.http import conditional_json

MAX_ENTRIES = 4096
#: An entry is renewed by the first hit after this share of its life.
RENEW_AT = 0.75


@dataclass(frozen=True)
class Cached:
    body: bytes
    etag: str
    expires: float
    renew_after: float

    def answer(self, request: Request, cache_control: str) -> Response:
        return conditional_json(request, self.body, self.etag, cache_control)


class ReadCache:
    def __init__(
        self,
        ttl_seconds: float,
        swr_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        self.cache_control = (
            f"public, max-age={ttl_seconds:g}, stale-while-revalidate={swr_seconds:g}"
        )
        self._entries: dict[str, Cached] = {}
        self._fetching: dict[str, asyncio.Future[Cached | None]] = {}
        self._renewing: dict[str, asyncio.Task[None]] = {}

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def get(self, key: str) -> Cached | None:
        found = self._entries.get(key)
        if found is None or found.expires <= self.clock():
            return None
        return found

    def put(self, key: str, body: bytes, etag: str | None = None) -> Cached:
        if len(self._entries) >= MAX_ENTRIES:
            now = self.clock()
            self._entries = {k: v for k, v in self._entries.items() if v.expires > now}
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
        etag = etag or '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        now = self.clock()
        cached = Cached(body, etag, now + self.ttl, now + self.ttl * RENEW_AT)
        self._entries[key] = cached
        return cached

    def clear(self) -> None:
        self._entries.clear()

    async def fetch_once(
        self, key: str, fetch: Callable[[], Awaitable[Cached | None]]
    ) -> Cached | None:
        """`fetch` the key's answer, unless a fetch of it is under way: then share that one
        (None: the answer was not cacheable, each caller asks for itself)."""
        pending = self._fetching.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Cached | None] = asyncio.get_running_loop().create_future()
        self._fetching[key] = future
        try:
            found = await fetch()
            future.set_result(found)
            return found
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else must
            raise
        finally:
            del self._fetching[key]

    def renew_ahead(
        self, key: str, hit: Cached, fetch: Callable[[], Awaitable[Cached | None]]
    ) -> None:
        """A hit late in its life renews the entry in the background (one renewal at a
        time per key); the hit itself is answered from memory."""
        if self.clock() < hit.renew_after or key in self._renewing:
            return

        async def renew() -> None:
            try:
                await self.fetch_once(key, fetch)
            finally:
                self._renewing.pop(key, None)

        self._renewing[key] = asyncio.get_running_loop().create_task(renew())
