"""Issue 13: every catalog replica applies product events itself (pubsub-broadcast, its
own consumer group), so a change written by another replica shows in this one's read model
in about the time the event takes, not at the next reload (30 s)."""

import time
from datetime import UTC, datetime

from apps.contracts.catalog import Product, ProductUpdated
from apps.contracts.events import EventEnvelope
from tests import factories
from tests.harness import Cluster, eventually


def test_a_product_change_made_elsewhere_reaches_the_read_model_through_its_event(
    cluster: Cluster,
) -> None:
    body = factories.product()
    pid = body["product_id"]
    with cluster.client("storefront") as api:
        assert api.post("/api/staff/products", json=body).status_code == 201
    with cluster.invoker("catalog") as catalog, cluster.sidecar("catalog") as dapr:
        page = catalog.get(f"/products/{pid}", params={"active_only": "true"})
        assert page.status_code == 200 and page.json()["name"] == body["name"]

        # Another replica's write: the document changes in the store behind this replica's
        # back (no write through this app), then its event is published.
        stored = dapr.get(f"/v1.0/state/statestore/product:{pid}")
        doc = stored.json()
        product = Product.model_validate(doc["product"]).model_copy(
            update={"name": "Renamed Elsewhere", "updated_at": datetime.now(UTC)}
        )
        doc["product"] = product.model_dump(mode="json")
        assert (
            dapr.post(
                "/v1.0/state/statestore", json=[{"key": f"product:{pid}", "value": doc}]
            ).status_code
            == 204
        )
        event = EventEnvelope.of(
            ProductUpdated(product=product, changed_fields=["name"]),
            correlation_id=factories.ref("c"),
            source="catalog",
        )
        published = time.monotonic()
        cluster.publish("product-events", event.model_dump(mode="json"), via="catalog")

        def shown() -> bool:
            answer = catalog.get(f"/products/{pid}", params={"active_only": "true"})
            return answer.json()["name"] == "Renamed Elsewhere" and answer

        answer = eventually(shown, timeout=10)
        assert time.monotonic() - published < 5  # the reload runs every 30 s
        staff = catalog.get(f"/products/{pid}")  # the store's own answer and tag
        assert answer.headers["ETag"] == staff.headers["ETag"]
        listed = catalog.get("/products/search", params={"q": "Renamed Elsewhere"}).json()
        assert pid in [item["product_id"] for item in listed["items"]]
