"""JSON documents in a Dapr state store with optimistic concurrency (ETags).

Every write names the ETag it read (`first-write` concurrency), so two writers racing on
one key cannot both win: the loser gets `EtagMismatch` and re-reads. Inserts without an
ETag succeed only if the key is absent.

It speaks the sidecar's HTTP state API rather than the SDK's gRPC client: over gRPC, Dapr
hands values (and every transactional write) to the PostgreSQL store as opaque bytes, stored
base64-encoded; over HTTP a JSON value is stored as JSONB, readable in psql and queryable
through the state query API (which the catalog's read model uses to load its documents).
"""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx

FIRST_WRITE = {"concurrency": "first-write", "consistency": "strong"}
CONFLICT_MARKERS = ("etag", "no item was updated")


class EtagMismatch(Exception):
    """Someone else wrote the key since it was read (or it exists, on insert)."""


class StateError(RuntimeError):
    """The sidecar or the store failed (not a conflict)."""


@dataclass(frozen=True)
class Versioned:
    value: Any
    etag: str


@dataclass(frozen=True)
class Upsert:
    key: str
    value: Any
    etag: str | None = None
    insert_only: bool = False  # without an ETag: fail (abort) if the key exists


@dataclass(frozen=True)
class Delete:
    key: str
    etag: str | None = None


def _raise_for(resp: httpx.Response, what: str) -> None:
    if resp.status_code < 300:
        return
    text = resp.text.lower()
    if resp.status_code == 409 or any(marker in text for marker in CONFLICT_MARKERS):
        raise EtagMismatch(what)
    raise StateError(f"{what}: {resp.status_code} {resp.text[:300]}")


class JsonStateStore:
    def __init__(self, http: httpx.AsyncClient, store_name: str) -> None:
        self.http = http
        self.store = store_name
        self.base = f"/v1.0/state/{store_name}"

    async def get(self, key: str) -> Versioned | None:
        resp = await self.http.get(f"{self.base}/{key}", params={"consistency": "strong"})
        if resp.status_code == 204 or not resp.content:
            return None
        _raise_for(resp, key)
        return Versioned(resp.json(), resp.headers.get("ETag", ""))

    async def insert(self, key: str, value: Any, ttl_seconds: int | None = None) -> None:
        """Create `key`; `EtagMismatch` if it exists already. With `ttl_seconds` the store
        drops it after that long."""
        await self._save([_item(key, value, None, ttl_seconds)], key)

    async def replace(
        self, key: str, value: Any, etag: str, ttl_seconds: int | None = None
    ) -> None:
        await self._save([_item(key, value, etag, ttl_seconds)], key)

    async def compare_and_set(
        self,
        key: str,
        decide: Callable[[Any | None], Any | None],
        attempts: int = 20,
        ttl_seconds: int | None = None,
    ) -> bool:
        """Read `key`, let `decide(current value or None)` answer the new value (None: keep
        it), write it guarded by the ETag read, and decide again if another writer got there
        first. True if written."""
        for _ in range(attempts):
            found = await self.get(key)
            value = decide(found.value if found else None)
            if value is None:
                return False
            try:
                if found is None:
                    await self.insert(key, value, ttl_seconds)
                else:
                    await self.replace(key, value, found.etag, ttl_seconds)
                return True
            except EtagMismatch:
                continue
        raise StateError(f"{key}: still contended after {attempts} attempts")

    async def delete(self, key: str, etag: str) -> None:
        resp = await self.http.delete(
            f"{self.base}/{key}",
            headers={"If-Match": etag},
            params={"concurrency": "first-write", "consistency": "strong"},
        )
        _raise_for(resp, key)

    async def bulk_upsert(self, items: list[tuple[str, Any]]) -> None:
        """Unconditional writes of many keys in one call (not atomic): for bulk loads only."""
        if items:
            await self._save([{"key": k, "value": v} for k, v in items], "bulk")

    async def transact(self, ops: list[Upsert | Delete]) -> None:
        """All or nothing; any stale ETag aborts the whole transaction."""
        operations = []
        for op in ops:
            request: dict[str, Any] = {"key": op.key}
            if isinstance(op, Upsert):
                request["value"] = op.value
            if op.etag is not None:
                request["etag"] = op.etag
            if op.etag is not None or (isinstance(op, Upsert) and op.insert_only):
                request["options"] = FIRST_WRITE
            operations.append(
                {"operation": "upsert" if isinstance(op, Upsert) else "delete", "request": request}
            )
        resp = await self.http.post(f"{self.base}/transaction", json={"operations": operations})
        _raise_for(resp, ",".join(op.key for op in ops))

    async def query(
        self,
        filter_: dict[str, Any],
        page_size: int = 1000,
        sort: list[dict[str, str]] | None = None,
    ) -> AsyncIterator[Versioned]:
        """Every document matching `filter_`, with its ETag (state query API, paginated),
        in `sort` order if given (e.g. `[{"key": "created_at", "order": "DESC"}]`)."""
        token: str | None = None
        while True:
            page: dict[str, Any] = {"limit": page_size}
            if token:
                page["token"] = token
            body: dict[str, Any] = {"filter": filter_, "page": page}
            if sort:
                body["sort"] = sort
            resp = await self.http.post(f"/v1.0-alpha1/state/{self.store}/query", json=body)
            _raise_for(resp, "query")
            body = resp.json() if resp.content else {}
            results = body.get("results") or []
            for item in results:
                yield Versioned(item.get("data"), item.get("etag", ""))
            token = body.get("token")
            if not results or not token or len(results) < page_size:
                return

    async def _save(self, items: list[dict[str, Any]], what: str) -> None:
        resp = await self.http.post(self.base, json=items)
        _raise_for(resp, what)


def _item(key: str, value: Any, etag: str | None, ttl_seconds: int | None) -> dict[str, Any]:
    item: dict[str, Any] = {"key": key, "value": value, "options": FIRST_WRITE}
    if etag is not None:
        item["etag"] = etag
    if ttl_seconds is not None:
        item["metadata"] = {"ttlInSeconds": str(ttl_seconds)}
    return item
