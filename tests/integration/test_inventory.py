"""Stock reservations on real sidecars: all-or-nothing, idempotent by order id, release and
commit, and no oversell when two catalog instances race for the last units."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests import factories
from tests.harness import Cluster


def _catalog(cluster: Cluster) -> httpx.Client:
    """Checkout's view: invoke `catalog` through another app's sidecar."""
    return cluster.invoker("catalog", timeout=30)


def _product(cluster: Cluster, stock: tuple[int, int] = (10, 3)) -> dict[str, Any]:
    body = factories.product()
    body["variants"][0]["stock"], body["variants"][1]["stock"] = stock
    with cluster.client("storefront") as api:
        assert api.post("/api/staff/products", json=body).status_code == 201
    return body


def _inventory(cluster: Cluster, product_id: str) -> dict[str, Any]:
    with cluster.client("storefront") as api:
        resp = api.get(f"/api/products/{product_id}/inventory")
        assert resp.status_code == 200, resp.text
        return resp.json()


def test_reserve_release_commit_are_idempotent_and_all_or_nothing(cluster: Cluster) -> None:
    p = _product(cluster)
    a, b = p["variants"][0]["sku"], p["variants"][1]["sku"]
    assert _inventory(cluster, p["product_id"])["available"] == 13
    order = factories.ref("o")
    with _catalog(cluster) as catalog:
        too_much = catalog.post(
            "/inventory/reservations",
            json={
                "order_id": factories.ref("o"),
                "lines": [{"sku": a, "quantity": 1}, {"sku": b, "quantity": 4}],
            },
        )
        assert too_much.status_code == 409
        assert too_much.json()["error"]["details"]["shortages"][0]["sku"] == b
        assert _inventory(cluster, p["product_id"])["available"] == 13  # nothing held

        body = {"order_id": order, "lines": [{"sku": a, "quantity": 2}, {"sku": b, "quantity": 3}]}
        assert catalog.post("/inventory/reservations", json=body).status_code == 201
        again = catalog.post("/inventory/reservations", json=body)
        assert again.status_code == 200  # the same order reserves once
        inv = _inventory(cluster, p["product_id"])
        assert inv["available"] == 8
        assert [v["reserved"] for v in inv["variants"]] == [2, 3]

        other = {**body, "lines": [{"sku": a, "quantity": 1}]}
        assert catalog.post("/inventory/reservations", json=other).status_code == 409

        released = catalog.post(
            f"/inventory/reservations/{order}/release", json={"reason": "payment failed"}
        )
        assert released.status_code == 200 and released.json()["status"] == "released"
        assert catalog.post(f"/inventory/reservations/{order}/release").status_code == 200
        assert _inventory(cluster, p["product_id"])["available"] == 13
        assert catalog.post(f"/inventory/reservations/{order}/commit").status_code == 409

        paid = factories.ref("o")
        catalog.post(
            "/inventory/reservations", json={"order_id": paid, "lines": [{"sku": a, "quantity": 4}]}
        ).raise_for_status()
        for _ in range(2):
            committed = catalog.post(f"/inventory/reservations/{paid}/commit")
            assert committed.status_code == 200 and committed.json()["status"] == "committed"
        inv = _inventory(cluster, p["product_id"])
        assert inv["variants"][0]["on_hand"] == 6 and inv["variants"][0]["reserved"] == 0


def test_bad_reservations_are_refused_cleanly(cluster: Cluster) -> None:
    p = _product(cluster)
    a = p["variants"][0]["sku"]
    with _catalog(cluster) as catalog:
        unknown = catalog.post(
            "/inventory/reservations",
            json={"order_id": factories.ref("o"), "lines": [{"sku": "NO-SUCH-SKU", "quantity": 1}]},
        )
        assert unknown.status_code == 422
        assert unknown.json()["error"]["details"]["skus"] == ["NO-SUCH-SKU"]
        for lines in (
            [{"sku": a, "quantity": 0}],
            [{"sku": a, "quantity": 10**6}],
            [{"sku": a, "quantity": 1}, {"sku": a, "quantity": 1}],
            [],
        ):
            bad = catalog.post(
                "/inventory/reservations", json={"order_id": factories.ref("o"), "lines": lines}
            )
            assert bad.status_code == 400, lines
        assert catalog.post("/inventory/reservations/o-none/commit").status_code == 404
    assert _inventory(cluster, p["product_id"])["available"] == 13


def test_two_instances_racing_for_the_last_units_never_oversell(cluster: Cluster) -> None:
    if "catalog-2" not in cluster.apps:
        cluster.start_app("catalog-2", app_id="catalog")
    p = _product(cluster, stock=(10, 0))
    sku = p["variants"][0]["sku"]
    urls = [cluster.apps["catalog"].url, cluster.apps["catalog-2"].url]

    def reserve(i: int) -> int:
        with httpx.Client(
            base_url=urls[i % 2], timeout=60, headers={"dapr-api-token": cluster.app_token}
        ) as c:
            return c.post(
                "/inventory/reservations",
                json={
                    "order_id": f"race-{p['product_id']}-{i}",
                    "lines": [{"sku": sku, "quantity": 1}],
                },
            ).status_code

    with ThreadPoolExecutor(40) as pool:
        statuses = list(pool.map(reserve, range(200)))
    assert statuses.count(201) == 10, sorted(set(statuses))
    assert statuses.count(409) == 190, sorted(set(statuses))
    inv = _inventory(cluster, p["product_id"])["variants"][0]
    assert (inv["on_hand"], inv["reserved"], inv["available"]) == (10, 10, 0)


def test_stock_and_reservations_survive_a_catalog_restart(cluster: Cluster) -> None:
    p = _product(cluster)
    order = factories.ref("o")
    with _catalog(cluster) as catalog:
        catalog.post(
            "/inventory/reservations",
            json={"order_id": order, "lines": [{"sku": p["variants"][0]["sku"], "quantity": 3}]},
        ).raise_for_status()
    cluster.restart_app("catalog", crash=True)
    if "catalog-2" in cluster.apps:
        cluster.stop_app("catalog-2")
        del cluster.apps["catalog-2"]
    assert _inventory(cluster, p["product_id"])["available"] == 10
    with _catalog(cluster) as catalog:
        assert catalog.get(f"/inventory/reservations/{order}").json()["status"] == "reserved"


def test_staff_adjustments_respect_holds(cluster: Cluster) -> None:
    p = _product(cluster)
    sku = p["variants"][0]["sku"]
    with _catalog(cluster) as catalog:
        catalog.post(
            "/inventory/reservations",
            json={"order_id": factories.ref("o"), "lines": [{"sku": sku, "quantity": 4}]},
        ).raise_for_status()
    with cluster.client("storefront") as api:
        ok = api.post(f"/api/staff/inventory/{sku}/adjust", json={"delta": 5, "reason": "delivery"})
        assert ok.status_code == 200 and ok.json()["on_hand"] == 15
        below = api.post(
            f"/api/staff/inventory/{sku}/adjust", json={"on_hand": 3, "reason": "count"}
        )
        assert below.status_code == 409
        assert (
            api.post(f"/api/staff/inventory/{sku}/adjust", json={"reason": "x"}).status_code == 400
        )
    assert _inventory(cluster, p["product_id"])["variants"][0]["on_hand"] == 15
