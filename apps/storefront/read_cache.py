"""The gateway's cache of public catalog reads (product lists, search, facets, featured,
related, product pages, categories), so most anonymous browsing never leaves the storefront.

- Keyed by path and query exactly as sent; only 200s are kept. These routes take no caller:
  their answer is the same for everyone (nothing personal or signed-in is ever cached).
- Staleness is bounded: an answer is served for at most `ttl` seconds
  (`STOREFRONT_CATALOG_CACHE_SECONDS`, 2 s by default), and every catalog write that passes
  through this replica (a staff product, stock, category or review change) empties its cache
  at once. A price or stock change made elsewhere is visible here within `ttl` seconds plus
  the catalog's own apply delay.
- Each answer carries a strong `ETag` (the catalog's own where it sends one, e.g. a product's
  store ETag that an update names in `If-Match`; else a hash of its bytes: either way every
  replica agrees) and
  `Cache-Control: public, max-age=<ttl>, stale-while-revalidate=<swr>`; `If-None-Match` with
  a current tag is a 304 without a body. An HTTP cache in front may serve a stale answer for
  up to `swr` more seconds while it revalidates.
"""

import hashlib
import time
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

MAX_ENTRIES = 4096


@dataclass(frozen=True)
class Cached:
    body: bytes
    etag: str
    expires: float

    def answer(self, request: Request, cache_control: str) -> Response:
        headers = {"ETag": self.etag, "Cache-Control": cache_control}
        if matches(request.headers.get("if-none-match"), self.etag):
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type="application/json", headers=headers)


def matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison, as `If-None-Match` uses: any listed tag, `W/` aside, or *."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


class ReadCache:
    def __init__(self, ttl_seconds: float, swr_seconds: float = 10.0) -> None:
        self.ttl = ttl_seconds
        self.cache_control = (
            f"public, max-age={ttl_seconds:g}, stale-while-revalidate={swr_seconds:g}"
        )
        self._entries: dict[str, Cached] = {}

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def get(self, key: str) -> Cached | None:
        found = self._entries.get(key)
        if found is None or found.expires <= time.monotonic():
            return None
        return found

    def put(self, key: str, body: bytes, etag: str | None = None) -> Cached:
        if len(self._entries) >= MAX_ENTRIES:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if v.expires > now}
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
        etag = etag or '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        cached = Cached(body, etag, time.monotonic() + self.ttl)
        self._entries[key] = cached
        return cached

    def clear(self) -> None:
        self._entries.clear()
