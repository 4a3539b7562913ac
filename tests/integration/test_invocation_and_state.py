"""Service invocation (storefront -> catalog through two sidecars) and state with ETags
(PostgreSQL through the catalog's sidecar)."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from apps.platform.state import JsonStateStore
from tests import factories
from tests.harness import Cluster, eventually


def test_storefront_invokes_catalog_and_errors_keep_one_format(cluster: Cluster) -> None:
    body = factories.product()
    with cluster.client("storefront") as api:
        created = api.post("/api/staff/products", json=body)
        assert created.status_code == 201, created.text
        assert created.headers["ETag"]
        got = api.get(f"/api/products/{body['product_id']}")
        assert got.status_code == 200
        assert got.json()["name"] == body["name"]
        assert got.json()["price"]["amount"] == "999.00"
        assert got.headers["ETag"] == created.headers["ETag"]

        missing = api.get("/api/products/nope-123", headers={"X-Request-ID": "req-test-1"})
        assert missing.status_code == 404
        err = missing.json()["error"]
        assert err["code"] == "RESOURCE_NOT_FOUND"
        assert err["request_id"] == "req-test-1"
        assert set(err) == {"code", "message", "details", "timestamp", "request_id"}


def test_bad_input_is_rejected_at_the_gateway_and_changes_nothing(cluster: Cluster) -> None:
    body = factories.product()
    body["price"]["amount"] = "-5.00"
    with cluster.client("storefront") as api:
        resp = api.post("/api/staff/products", json=body)
        assert resp.status_code == 400
        assert resp.json()["error"]["code"] == "INVALID_REQUEST"
        assert api.get(f"/api/products/{body['product_id']}").status_code == 404


def test_products_are_filed_under_existing_categories(cluster: Cluster) -> None:
    body = factories.product(category_slug="no-such-category")
    with cluster.client("storefront") as api:
        resp = api.post("/api/staff/products", json=body)
        assert resp.status_code == 422
        assert resp.json()["error"]["details"]["category_slug"] == "no-such-category"
        assert api.get(f"/api/products/{body['product_id']}").status_code == 404


def test_create_is_idempotent_by_product_id(cluster: Cluster) -> None:
    body = factories.product()
    with cluster.client("storefront") as api:
        assert api.post("/api/staff/products", json=body).status_code == 201
        again = api.post("/api/staff/products", json=body)
        assert again.status_code == 200
        other = api.post("/api/staff/products", json={**body, "name": "Something else"})
        assert other.status_code == 409
        assert api.get(f"/api/products/{body['product_id']}").json()["name"] == body["name"]


def test_stale_etag_is_a_conflict_and_changes_nothing(cluster: Cluster) -> None:
    body = factories.product()
    with cluster.client("storefront") as api:
        etag1 = api.post("/api/staff/products", json=body).headers["ETag"]
        path = f"/api/staff/products/{body['product_id']}"
        first = api.patch(path, json={"name": "Renamed"}, headers={"If-Match": etag1})
        assert first.status_code == 200, first.text
        etag2 = first.headers["ETag"]
        assert etag2 != etag1

        stale = api.patch(path, json={"name": "Lost update"}, headers={"If-Match": etag1})
        assert stale.status_code == 409
        assert stale.json()["error"]["code"] == "CONFLICT"
        current = api.get(f"/api/products/{body['product_id']}")
        assert current.json()["name"] == "Renamed"
        assert current.headers["ETag"] == etag2

        unconditional = api.patch(path, json={"name": "No precondition"})
        assert unconditional.status_code == 400


def test_concurrent_writers_with_one_etag_exactly_one_wins(cluster: Cluster) -> None:
    body = factories.product()
    with cluster.client("storefront") as api:
        etag = api.post("/api/staff/products", json=body).headers["ETag"]
    path = f"/api/staff/products/{body['product_id']}"

    def rename(i: int) -> int:
        with cluster.client("storefront") as c:
            return c.patch(
                path, json={"name": f"Writer {i}"}, headers={"If-Match": etag}
            ).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(rename, range(8)))
    assert statuses.count(200) == 1, statuses
    assert statuses.count(409) == 7, statuses


def test_delete_needs_a_draft_and_the_current_etag(cluster: Cluster) -> None:
    active = factories.product()
    draft = factories.product(status="draft")
    with cluster.client("storefront") as api:
        etag_a = api.post("/api/staff/products", json=active).headers["ETag"]
        etag_d = api.post("/api/staff/products", json=draft).headers["ETag"]
        refused = api.delete(
            f"/api/staff/products/{active['product_id']}", headers={"If-Match": etag_a}
        )
        assert refused.status_code == 409
        assert api.get(f"/api/products/{active['product_id']}").status_code == 200
        # A draft is not public: the same 404 as a missing product; staff read it.
        assert api.get(f"/api/products/{draft['product_id']}").status_code == 404
        staff_view = api.get(f"/api/staff/products/{draft['product_id']}")
        assert staff_view.status_code == 200 and staff_view.headers["ETag"] == etag_d
        anonymous = httpx.get(f"{cluster.apps['storefront'].url}/api/staff/products/x-1")
        assert anonymous.status_code == 401

        stale = api.delete(
            f"/api/staff/products/{draft['product_id']}", headers={"If-Match": '"1"'}
        )
        assert stale.status_code == 409
        gone = api.delete(
            f"/api/staff/products/{draft['product_id']}", headers={"If-Match": etag_d}
        )
        assert gone.status_code == 204
        assert api.get(f"/api/products/{draft['product_id']}").status_code == 404


def test_trace_context_and_request_id_reach_the_called_app(cluster: Cluster) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = {
        "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
        "X-Request-ID": "req-trace-test",
    }
    with cluster.client("storefront") as api:
        assert api.get("/api/products/p-traced-1", headers=headers).status_code == 404

    def logged() -> bool:
        lines = (cluster.logs / "catalog_app.log").read_text().splitlines()
        return any(trace_id in line and "req-trace-test" in line for line in lines)

    eventually(logged, timeout=10)


# Keys as users make them: any text, URL characters, `||` (Dapr's own separator) and
# non-ASCII included; PostgreSQL text cannot hold NUL.
STATE_KEYS = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=80,
) | st.sampled_from(["a||b", "||", "%7C%7C", "a%b", "a|b", "%", "x%25y", ".", "..", "./x"])


# Derandomized: the same keys every run (CI must not pass or fail by chance), and the edge
# cases as explicit examples.
@settings(
    max_examples=120, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
@given(key=STATE_KEYS)
@example(key=".")
@example(key="..")
@example(key="a||b")
@example(key="john+shop@example.com")
@example(key="a?b#c/d%e")
def test_any_state_key_round_trips_through_the_sidecar(cluster: Cluster, key: str) -> None:
    async def run() -> None:
        async with httpx.AsyncClient(
            base_url=cluster.apps["catalog"].dapr_url, headers=cluster.sidecar_headers
        ) as http:
            store = JsonStateStore(http, "statestore")
            value = {"kind": "round-trip", "key": key}
            await store.bulk_upsert([(key, value)])
            found = await store.get(key)
            assert found is not None and found.value == value, key
            await store.delete(key, found.etag)
            assert await store.get(key) is None, key

    asyncio.run(run())


def test_a_staff_patch_changes_only_what_it_sends_and_slugs_stay_unique(
    cluster: Cluster,
) -> None:
    one, two = factories.product(), factories.product()
    with cluster.client("storefront") as api:
        etag = api.post("/api/staff/products", json=one).headers["ETag"]
        assert api.post("/api/staff/products", json=two).status_code == 201
        path = f"/api/staff/products/{one['product_id']}"
        r = api.patch(path, json={"price": {"amount": "0.00"}}, headers={"If-Match": etag})
        assert r.status_code == 200, r.text
        price = api.get(f"/api/products/{one['product_id']}").json()["price"]
        assert (price["amount"], price["tax_rate"]) == ("0.00", "0.0825")
        taken = api.patch(path, json={"slug": two["slug"]}, headers={"If-Match": r.headers["ETag"]})
        assert taken.status_code == 409 and "slug" in taken.json()["error"]["message"]
        copy = {**factories.product(), "slug": one["slug"]}
        assert api.post("/api/staff/products", json=copy).status_code == 409
        assert api.get(f"/api/products/{one['product_id']}").json()["slug"] == one["slug"]
