"""The recommendations app through Dapr: related products, "for you" from history, and a
signed-in shopper's paid order changing what they are shown (counted once)."""

import uuid

from apps.catalog import seed as catalog_seed
from tests import factories
from tests.harness import Cluster, eventually

PRODUCT = next(catalog_seed.products(count=1)).product_id


def test_related_and_for_you_through_dapr(cluster: Cluster) -> None:
    with cluster.invoker("recommendations") as app:
        related = app.get(f"/related/{PRODUCT}", params={"limit": 5})
        assert related.status_code == 200, related.text
        body = related.json()
        assert len(body["items"]) == 5 and PRODUCT not in [i["product_id"] for i in body["items"]]
        assert body["model_version"].startswith("reco-")
        known = app.get("/for-you/u00001", params={"limit": 10}).json()
        assert known["strategy"] == "blend" and len(known["items"]) == 10
        newcomer = app.get(f"/for-you/{uuid.uuid4().hex}").json()
        assert newcomer["strategy"] == "popularity"
        assert app.get(f"/related/{PRODUCT}", params={"limit": 500}).status_code == 422


def test_a_paid_order_changes_for_you_once(cluster: Cluster) -> None:
    user = f"user-{uuid.uuid4().hex[:8]}"
    event = factories.order_paid(user_id=user, product_id=PRODUCT)
    cluster.publish("order-events", event, times=2)  # a redelivery
    with cluster.invoker("recommendations") as app:

        def personalised() -> dict[str, object]:
            body = app.get(f"/for-you/{user}").json()
            assert body["strategy"] == "blend"
            return body

        body = eventually(personalised, timeout=20)
        assert PRODUCT not in [i["product_id"] for i in body["items"]]  # bought already
    with cluster.sidecar("recommendations") as dapr:
        doc = dapr.get(f"/v1.0/state/statestore/purchases:{user}").json()
    assert doc["products"] == [PRODUCT]
