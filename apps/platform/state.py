"""JSON documents in a Dapr state store with optimistic concurrency (ETags).

Every write names the ETag it read (`first-write` concurrency), so two writers racing on
one key cannot both win: the loser gets `EtagMismatch` and re-reads. Inserts without an
ETag succeed only if the key is absent.

It speaks the sidecar's HTTP state API rather than the SDK's gRPC client: over gRPC, Dapr
hands values (and every transactional write) to the PostgreSQL store as opaque bytes, stored
base64-encoded; over HTTP a JSON value is stored as JSONB, readable in psql and queryable
through the state query API (which the catalog's read model uses to load its documents).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from apps.platform.urls import segment

FIRST_WRITE = {"concurrency": "first-write", "consistency": "strong"}
CONFLICT_MARKERS = ("etag", "no item was updated")
SCAN_PAGE_SIZE = 1000
#: Documents of the previous page asked for again, so each page starts with one seen.
SCAN_OVERLAP = 20
SCAN_ATTEMPTS = 5
#: Keys a bulk read asks the store for at once.
BULK_PARALLELISM = 16


class EtagMismatch(Exception):
    """Someone else wrote the key since it was read (or it exists, on insert)."""


class StateError(RuntimeError):
    """The sidecar or the store failed (not a conflict)."""


class IncompleteScan(StateError):
    """A scan could not prove it saw every matching document exactly once."""


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
        resp = await self.http.get(
            f"{self.base}/{segment(store_key(key))}", params={"consistency": "strong"}
        )
        if resp.status_code == 204 or not resp.content:
            return None
        _raise_for(resp, key)
        return Versioned(resp.json(), resp.headers.get("ETag", ""))

    async def get_many(self, keys: list[str]) -> dict[str, Versioned]:
        """The documents of `keys` that exist, by key, in one bulk call (the sidecar reads
        them `BULK_PARALLELISM` at a time). Repeated keys are read once."""
        wanted = {store_key(k): k for k in dict.fromkeys(keys)}
        if not wanted:
            return {}
        resp = await self.http.post(
            f"{self.base}/bulk",
            json={"keys": list(wanted), "parallelism": BULK_PARALLELISM},
            params={"metadata.consistency": "strong"},
        )
        _raise_for(resp, "bulk get")
        found: dict[str, Versioned] = {}
        for item in resp.json():
            if item.get("error"):
                raise StateError(f"bulk get {item.get('key')}: {str(item['error'])[:300]}")
            if item.get("data") is not None and item.get("key") in wanted:
                found[wanted[item["key"]]] = Versioned(item["data"], item.get("etag", ""))
        return found

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
            f"{self.base}/{segment(store_key(key))}",
            headers={"If-Match": etag},
            params={"concurrency": "first-write", "consistency": "strong"},
        )
        _raise_for(resp, key)

    async def bulk_upsert(self, items: list[tuple[str, Any]]) -> None:
        """Unconditional writes of many keys in one call (not atomic): for bulk loads only."""
        if items:
            await self._save([{"key": store_key(k), "value": v} for k, v in items], "bulk")

    async def transact(self, ops: list[Upsert | Delete]) -> None:
        """All or nothing; any stale ETag aborts the whole transaction."""
        operations = []
        for op in ops:
            request: dict[str, Any] = {"key": store_key(op.key)}
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

    async def scan(
        self,
        filter_: dict[str, Any],
        order_by: str,
        page_size: int = SCAN_PAGE_SIZE,
        overlap: int = SCAN_OVERLAP,
    ) -> list[Versioned]:
        """Every document matching `filter_`, each exactly once, in the store's order of
        `order_by`: a field (dotted path) present in every matching document and unique.

        The query API pages by offset, and PostgreSQL answers an unsorted query in no fixed
        order, so an unsorted scan skips and repeats documents once rows have been updated;
        hence a scan is always sorted by a unique field. Offsets still shift when documents
        are written while the scan runs, so each page after the first is asked for with the
        last `overlap` documents of the one before and must contain the last document taken
        (the frontier): then every document that existed for the whole scan is taken once,
        and one inserted during the scan is taken if it sorts after the frontier. A page
        that lost the frontier (it was deleted, or more documents than `overlap` were
        deleted before it) starts the scan again, up to `SCAN_ATTEMPTS` times. Anything
        else that is off (a sort value missing or shared by two documents, the frontier lost
        every time) raises `IncompleteScan`: never a silently partial set."""
        if page_size < 2 or not 1 <= overlap < page_size:
            raise ValueError("scan: need page_size >= 2 and 1 <= overlap < page_size")
        for _ in range(SCAN_ATTEMPTS):
            found = await self._scan_once(filter_, order_by, page_size, overlap)
            if found is not None:
                return found
        raise IncompleteScan(
            f"scan of {filter_} by {order_by}: lost its place {SCAN_ATTEMPTS} times "
            "(documents deleted faster than it pages)"
        )

    async def _scan_once(
        self, filter_: dict[str, Any], order_by: str, page_size: int, overlap: int
    ) -> list[Versioned] | None:
        """One pass of `scan`; None if it lost its frontier."""
        taken: list[Versioned] = []
        keys: set[str] = set()
        values: set[Any] = set()
        offset, frontier = 0, None
        while True:
            limit = page_size if frontier is None else page_size + overlap
            page = await self._query_page(filter_, order_by, offset, limit)
            start = 0
            if frontier is not None:
                at = next((i for i, (key, _) in enumerate(page) if key == frontier), None)
                if at is None:
                    return None
                start = at + 1
            for key, doc in page[start:]:
                value = _field(doc.value, order_by)
                if value is None or not isinstance(value, str | int | float):
                    raise IncompleteScan(f"scan by {order_by}: {key} has no usable value")
                if key in keys or value in values:
                    raise IncompleteScan(f"scan by {order_by}: {value!r} is not unique ({key})")
                keys.add(key)
                values.add(value)
                taken.append(doc)
            if len(page) < limit:
                return taken
            frontier = page[-1][0]
            offset += len(page) - overlap

    async def _query_page(
        self, filter_: dict[str, Any], order_by: str, offset: int, limit: int
    ) -> list[tuple[str, Versioned]]:
        page: dict[str, Any] = {"limit": limit}
        if offset:
            page["token"] = str(offset)  # the PostgreSQL store's token is the row offset
        body = {"filter": filter_, "sort": [{"key": order_by, "order": "ASC"}], "page": page}
        resp = await self.http.post(f"/v1.0-alpha1/state/{self.store}/query", json=body)
        _raise_for(resp, "query")
        answer = resp.json() if resp.content else {}
        return [
            (str(item.get("key", "")), Versioned(item.get("data"), item.get("etag", "")))
            for item in answer.get("results") or []
        ]

    async def _save(self, items: list[dict[str, Any]], what: str) -> None:
        resp = await self.http.post(self.base, json=items)
        _raise_for(resp, what)


def _item(key: str, value: Any, etag: str | None, ttl_seconds: int | None) -> dict[str, Any]:
    item: dict[str, Any] = {"key": store_key(key), "value": value, "options": FIRST_WRITE}
    if etag is not None:
        item["etag"] = etag
    if ttl_seconds is not None:
        item["metadata"] = {"ttlInSeconds": str(ttl_seconds)}
    return item


def store_key(key: str) -> str:
    """The key as Dapr stores it. Dapr reserves `||` (it joins the app id and the key), so a
    key holding `||` or `%` is stored with `%` and `|` percent-encoded; every other key is
    stored as it is (so existing documents keep their keys). The two forms cannot collide:
    only encoded keys contain `%`."""
    if "%" not in key and "||" not in key:
        return key
    return key.replace("%", "%25").replace("|", "%7C")


def _field(value: Any, path: str) -> Any:
    """The value at a dotted path of a JSON document (None where absent)."""
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
