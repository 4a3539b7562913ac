"""Pub/sub through Redis Streams: an event the orders app publishes is received by the
catalog (another app), applied once despite duplicates, and poison messages are dropped."""

import uuid
from typing import Any

import httpx

from tests import factories
from tests.dead_letters import paid_order
from tests.harness import Cluster, eventually


def _purchases(api: httpx.Client, product_id: str) -> int:
    return int(api.get(f"/api/products/{product_id}").json()["analytics"]["purchases"])


def _pay(cluster: Cluster, product: dict[str, Any], quantity: int) -> dict[str, Any]:
    variant = product["variants"][0]
    line = {
        "product_id": product["product_id"],
        "variant_id": variant["variant_id"],
        "sku": variant["sku"],
        "name": product["name"],
        "quantity": quantity,
        "unit_price": "999.00",
        "line_total": f"{999 * quantity}.00",
    }
    body = factories.order(items=[line], totals={"subtotal": "1.00", "total": "1.00"})
    return paid_order(cluster, body)


def test_order_paid_event_reaches_catalog_once(cluster: Cluster) -> None:
    product = factories.product()
    with cluster.client("storefront") as api:
        assert api.post("/api/staff/products", json=product).status_code == 201
        order = _pay(cluster, product, quantity=3)
        eventually(lambda: _purchases(api, product["product_id"]) == 3, timeout=30)

        # Redeliver the same event (same event id) as a broker would: counted once.
        with cluster.sidecar("orders") as dapr:
            get = dapr.put(f"/v1.0/actors/OrderActor/{order['order_id']}/method/get").json()
            paid = get["order"]
            envelope = {
                "event_id": f"{paid['order_id']}:{paid['version']}",
                "event_type": "OrderPaid",
                "event_version": 1,
                "occurred_at": paid["updated_at"],
                "correlation_id": paid["correlation_id"],
                "source": "orders",
                "data": {
                    "order_id": paid["order_id"],
                    "order_number": paid["order_number"],
                    "email": paid["email"],
                    "user_id": None,
                    "status": "paid",
                    "previous_status": "awaiting_payment",
                    "reason": "",
                    "totals": paid["totals"],
                    "items": paid["items"],
                    "version": paid["version"],
                    "at": paid["updated_at"],
                },
            }
            for _ in range(2):
                r = dapr.post("/v1.0/publish/pubsub/order-events", json=envelope)
                assert r.status_code == 204, r.text
            # A poison message: dropped (dead-lettered), not retried forever.
            r = dapr.post("/v1.0/publish/pubsub/order-events", json={"garbage": str(uuid.uuid4())})
            assert r.status_code == 204

        # A later, different order still flows (no hot loop on the poison message) ...
        _pay(cluster, product, quantity=1)
        eventually(lambda: _purchases(api, product["product_id"]) == 4, timeout=30)
    # ... and the duplicates did not count again.
    with cluster.client("storefront") as api:
        assert _purchases(api, product["product_id"]) == 4


def test_only_the_owner_of_a_topic_may_publish_it(cluster: Cluster) -> None:
    """A forged OrderPaid is refused by the sidecar of any app but the order owners."""
    forged = {"event_id": f"forged-{uuid.uuid4()}", "event_type": "OrderPaid", "data": {}}
    for app in ("storefront", "identity", "catalog", "payments"):
        with cluster.sidecar(app) as dapr:
            r = dapr.post("/v1.0/publish/pubsub/order-events", json=forged)
            assert r.status_code == 403, (app, r.status_code, r.text)
    with cluster.sidecar("storefront") as dapr:
        for topic in ("payment-events", "product-events", "user-events"):
            assert dapr.post(f"/v1.0/publish/pubsub/{topic}", json=forged).status_code == 403
