"""`task seed` against real sidecars: batches land, the marker makes a second run skip, and
stock records start from the generated variants."""

from tests.harness import Cluster


def test_seed_loads_once_and_products_are_served(cluster: Cluster, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cluster.seed("--products", "300", "--batch", "100") == 0
    assert cluster.seed("--if-empty") == 0
    assert "already seeded (300 products)" in capsys.readouterr().out
    with cluster.client("storefront") as api:
        product = api.get("/api/staff/products/prod-000042").json()  # any status
        inventory = api.get("/api/products/prod-000042/inventory").json()
    assert product["name"]
    assert [v["on_hand"] for v in inventory["variants"]] == [
        v["stock"] for v in product["variants"]
    ]
    with cluster.invoker("catalog", via="catalog") as catalog:
        assert catalog.get("/admin/seed").json()["products"] == 300
