"""The recommendations app through Dapr: related products, "for you" from history, and a
signed-in shopper's paid order changing what they are shown (counted once)."""

import uuid
from datetime import UTC, datetime

from apps.catalog import seed as catalog_seed
from apps.contracts.events import EventEnvelope
from apps.contracts.orders import OrderPaid
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
    order = factories.order()
    line = {**order["items"][0], "product_id": PRODUCT}
    paid = OrderPaid.model_validate(
        {
            "order_id": order["order_id"],
            "order_number": "SC-2026-999998",
            "email": order["email"],
            "user_id": user,
            "status": "paid",
            "previous_status": "awaiting_payment",
            "totals": order["totals"],
            "items": [line],
            "version": 3,
            "at": datetime.now(UTC).isoformat(),
        }
    )
    envelope = EventEnvelope.of(
        paid, correlation_id="test", source="orders", event_id=f"paid-{uuid.uuid4()}"
    )
    with cluster.sidecar("orders") as dapr:
        for _ in range(2):  # a redelivery
            r = dapr.post(
                "/v1.0/publish/pubsub/order-events", json=envelope.model_dump(mode="json")
            )
            assert r.status_code == 204, r.text
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
