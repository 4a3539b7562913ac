"""Scans through the state query API (real sidecars, real PostgreSQL) after churn: every
document exactly once, in order, also while other documents are written; the catalog's
read model and the order listings agree with the store after updates and a restart."""

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from apps.catalog.seed import products
from apps.platform.state import IncompleteScan, JsonStateStore
from tests.harness import Cluster


def _store(cluster: Cluster, app_id: str) -> tuple[httpx.AsyncClient, JsonStateStore]:
    http = httpx.AsyncClient(
        base_url=cluster.apps[app_id].dapr_url, timeout=60, headers=cluster.sidecar_headers
    )
    return http, JsonStateStore(http, "statestore")


async def _load_and_churn(
    store: JsonStateStore, docs: dict[str, dict[str, Any]], rounds: int
) -> None:
    """Write `docs` in batches, then churn them."""
    items = list(docs.items())
    for i in range(0, len(items), 1000):
        await store.bulk_upsert(items[i : i + 1000])
    await _churn(store, docs, rounds)


async def _churn(store: JsonStateStore, docs: dict[str, dict[str, Any]], rounds: int) -> None:
    """Rewrite a random half of `docs` `rounds` times: PostgreSQL moves updated rows, so
    the physical order (what an unsorted query follows) ends up shuffled."""
    rng = random.Random(19)
    keys = list(docs)
    for r in range(rounds):
        half = rng.sample(keys, len(keys) // 2)
        for i in range(0, len(half), 1000):
            chunk = half[i : i + 1000]
            await store.bulk_upsert([(k, {**docs[k], "round": r}) for k in chunk])


def test_a_scan_after_churn_sees_every_document_once_in_order(cluster: Cluster) -> None:
    kind = f"scan-{uuid.uuid4().hex[:8]}"
    docs = {f"{kind}:{i:05d}": {"kind": kind, "doc_id": f"d-{i:05d}"} for i in range(10_000)}

    async def run() -> list[str]:
        http, store = _store(cluster, "catalog")
        async with http:
            await _load_and_churn(store, docs, rounds=3)
            seen = [d.value["doc_id"] for d in await store.scan({"EQ": {"kind": kind}}, "doc_id")]
            return seen

    seen = asyncio.run(run())
    assert len(seen) == 10_000
    assert seen == sorted(seen) == [f"d-{i:05d}" for i in range(10_000)]


# With an overlap of 2 the deletes outrun the overlap: the scan starts again or gives up.
@pytest.mark.parametrize("overlap", [2, 20])
def test_a_scan_racing_with_writes_neither_loses_nor_repeats_documents(
    cluster: Cluster, overlap: int
) -> None:
    kind = f"race-{uuid.uuid4().hex[:8]}"
    stable = {f"{kind}:s{i:04d}": {"kind": kind, "doc_id": f"s{i:04d}"} for i in range(2000)}
    doomed = {f"{kind}:d{i:04d}": {"kind": kind, "doc_id": f"d{i:04d}"} for i in range(600)}

    async def run() -> tuple[list[list[str] | None], int]:
        http, store = _store(cluster, "catalog")
        async with http:
            await store.bulk_upsert(list(stable.items()))
            await store.bulk_upsert(list(doomed.items()))
            results: list[list[str] | None] = []
            stop = asyncio.Event()

            writes = 0

            async def writer() -> None:
                # Inserts before and after every position, deletes of documents early in
                # the order: each shifts the offsets of the pages still to come.
                nonlocal writes
                doomed_keys = sorted(doomed)
                while not stop.is_set():
                    n = writes
                    new = [(f"{kind}:a{n:05d}", {"kind": kind, "doc_id": f"a{n:05d}"})]
                    new.append((f"{kind}:z{n:05d}", {"kind": kind, "doc_id": f"z{n:05d}"}))
                    await store.bulk_upsert(new)
                    for key in doomed_keys[:5]:
                        found = await store.get(key)
                        if found:
                            await store.delete(key, found.etag)
                    del doomed_keys[:5]
                    writes += 1
                    await asyncio.sleep(0)

            task = asyncio.create_task(writer())
            try:
                for _ in range(5):
                    try:
                        docs = await store.scan(
                            {"EQ": {"kind": kind}}, "doc_id", page_size=100, overlap=overlap
                        )
                    except IncompleteScan:
                        results.append(None)  # said so, loudly: allowed, a wrong answer is not
                        continue
                    results.append([d.value["doc_id"] for d in docs])
            finally:
                stop.set()
                await task
            return results, writes

    scans, writes = asyncio.run(run())
    assert writes >= 20, "the writer hardly ran while the scans did"
    if overlap == 20:
        assert None not in scans
    for seen in scans:
        if seen is None:
            continue
        assert len(seen) == len(set(seen)), "a document came twice"
        assert {s for s in seen if s.startswith("s")} == {v["doc_id"] for v in stable.values()}
        assert seen == sorted(seen)


def test_a_scan_refuses_a_sort_field_that_is_not_unique(cluster: Cluster) -> None:
    kind = f"dup-{uuid.uuid4().hex[:8]}"

    async def run() -> None:
        http, store = _store(cluster, "catalog")
        async with http:
            await store.bulk_upsert(
                [(f"{kind}:{i}", {"kind": kind, "group": f"g{i % 3}"}) for i in range(10)]
            )
            with pytest.raises(IncompleteScan, match="not unique"):
                await store.scan({"EQ": {"kind": kind}}, "group")
            with pytest.raises(IncompleteScan, match="no usable value"):
                await store.scan({"EQ": {"kind": kind}}, "missing")

    asyncio.run(run())


ACTIVE_PRODUCTS_SQL = (
    "SELECT count(*) FROM dapr_state WHERE value->>'kind' = 'product' "
    "AND value->'product'->>'status' = 'active' AND value->>'deleted' = 'false'"
)


def test_catalog_total_equals_the_store_after_churn_and_a_restart(cluster: Cluster) -> None:
    generated = [
        p.model_copy(update={"product_id": f"churn-{i:05d}", "slug": f"churn-{i:05d}"})
        for i, p in enumerate(products(3000, seed=1919))
    ]
    seed = f"{cluster.apps['catalog'].dapr_url}/v1.0/invoke/catalog/method/admin/seed/batches"
    with httpx.Client(timeout=120, headers=cluster.sidecar_headers) as http:
        for i in range(0, len(generated), 500):
            batch = generated[i : i + 500]
            r = http.post(seed, json={"products": [p.model_dump(mode="json") for p in batch]})
            assert r.status_code < 300, r.text

    async def churn() -> None:
        http, store = _store(cluster, "catalog")
        async with http:
            docs = {
                f"product:{d.value['product']['product_id']}": d.value
                for d in await store.scan({"EQ": {"kind": "product"}}, "product.product_id")
                if d.value["product"]["product_id"].startswith("churn-")
            }
            assert len(docs) == 3000
            await _churn(store, docs, rounds=4)

    asyncio.run(churn())
    cluster.restart_app("catalog")
    expected = int(cluster.sql(ACTIVE_PRODUCTS_SQL))
    assert expected >= 2000
    with cluster.client("storefront") as api:
        total = api.get("/api/products", params={"limit": 1}).json()["total"]
        assert total == expected
        # A product nobody touched stays served after the periodic refresh too.
        with cluster.client("catalog") as catalog:
            assert catalog.post("/admin/index/reload").json()["products"] >= expected
        assert api.get("/api/products", params={"limit": 1}).json()["total"] == expected


def _view(i: int, now: datetime) -> dict[str, Any]:
    return {
        "kind": "order_view",
        "order_id": f"ord-scan-{i:05d}",
        "order_number": f"SC-1999-{i:06d}",
        "user_id": "user-scan-listing",
        "email": "scan.listing@example.com",
        "status": "paid",
        "totals": {"subtotal": "10.00", "total": "10.00", "currency": "USD"},
        "items": [],
        "item_count": 1,
        # Many orders share a second: the listing's order must not depend on the store's.
        "created_at": (now - timedelta(seconds=i // 7)).isoformat(),
        "updated_at": now.isoformat(),
        "version": 3,
    }


def test_order_listings_match_the_store_after_churn(cluster: Cluster) -> None:
    now = datetime.now(UTC)
    views = {f"order-view:ord-scan-{i:05d}": _view(i, now) for i in range(3000)}

    async def load() -> None:
        http, store = _store(cluster, "orders")
        async with http:
            await _load_and_churn(store, views, rounds=3)

    asyncio.run(load())
    expected = int(
        cluster.sql("SELECT count(*) FROM dapr_state WHERE value->>'kind' = 'order_view'")
    )
    with cluster.client("storefront") as api:

        def pages(params: dict[str, Any]) -> tuple[list[str], int]:
            ids: list[str] = []
            page, total = 1, 0
            while True:
                r = api.get("/api/staff/orders", params={**params, "page": page, "limit": 100})
                assert r.status_code == 200, r.text
                body = r.json()
                total = body["total"]
                ids += [o["order_id"] for o in body["items"]]
                if len(body["items"]) < 100:
                    return ids, total
                page += 1

        mine, total = pages({"user_id": "user-scan-listing"})
        assert total == 3000 and len(set(mine)) == 3000
        expected_order = sorted(
            views.values(), key=lambda v: (v["created_at"], v["order_id"]), reverse=True
        )
        assert mine == [v["order_id"] for v in expected_order]
        everyone, total = pages({})
        assert total == expected and len(set(everyone)) == expected
        number = api.get("/api/staff/orders/by-number/SC-1999-001234")
        assert number.status_code == 200 and number.json()["order_id"] == "ord-scan-01234"
