"""`task seed` against real sidecars: batches land, the marker makes a second run skip, and
stock records start from the generated variants."""

import httpx

from scripts import seed as seed_script
from tests.harness import Cluster


def test_seed_loads_once_and_products_are_served(cluster: Cluster, capsys) -> None:  # type: ignore[no-untyped-def]
    sidecar = cluster.apps["catalog"].dapr_url
    assert seed_script.main(["--products", "300", "--batch", "100", "--sidecar", sidecar]) == 0
    assert seed_script.main(["--if-empty", "--sidecar", sidecar]) == 0
    assert "already seeded (300 products)" in capsys.readouterr().out
    with cluster.client("storefront") as api:
        product = api.get("/api/staff/products/prod-000042").json()  # any status
        inventory = api.get("/api/products/prod-000042/inventory").json()
    assert product["name"]
    assert [v["on_hand"] for v in inventory["variants"]] == [
        v["stock"] for v in product["variants"]
    ]
    with httpx.Client(base_url=f"{sidecar}/v1.0/invoke/catalog/method") as catalog:
        assert catalog.get("/admin/seed").json()["products"] == 300
