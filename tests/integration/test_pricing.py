"""The pricing app through Dapr: an explained suggestion for a catalog SKU."""

from apps.catalog import seed as catalog_seed
from tests.harness import Cluster

SKU = next(catalog_seed.products(count=1)).variants[0].sku


def test_suggestion_through_dapr(cluster: Cluster) -> None:
    with cluster.invoker("pricing") as app:
        resp = app.post("/suggest", json={"sku": SKU, "max_change": 0.08})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert abs(body["change"]) <= 0.08 + 1e-3
        assert body["suggested_price"] > body["unit_cost"]
        assert body["model_version"].startswith("pricing-") and body["explanation"]
        assert app.post("/suggest", json={"sku": "NO-SUCH-SKU"}).status_code == 404
        bad = app.post("/suggest", json={"sku": SKU, "min_margin": 2})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "UNPROCESSABLE_ENTITY"
