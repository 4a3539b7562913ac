"""A dead letter to order, for the tests of the dead-letter API and its admin pages: a paid
order (made straight in orders) and a ShipmentScheduled for its first shipment published
before that shipment exists, which orders cannot apply and drops (dead-lettered)."""

from datetime import UTC, datetime
from typing import Any

from tests import factories
from tests.harness import Cluster

Json = dict[str, Any]


def paid_order(cluster: Cluster, body: Json | None = None) -> Json:
    """`body` (a new order with a shipping address by default) created and taken to paid."""
    body = body or factories.order(shipping_address=factories.address())
    with cluster.invoker("orders") as orders:
        assert orders.post("/orders", json=body).status_code == 201
        for to in ("awaiting_payment", "paid"):
            r = orders.post(
                f"/orders/{body['order_id']}/transitions", json=factories.transition(to)
            )
            assert r.status_code == 200, r.text
    return body


def shipment_scheduled(order: Json, event_id: str, correlation_id: str | None = None) -> Json:
    """A ShipmentScheduled for the order's first shipment, published before that shipment
    exists: orders cannot find it and drops the event (dead-lettered)."""
    now = datetime.now(UTC).isoformat()
    line = order["items"][0]
    return {
        "event_id": event_id,
        "event_type": "ShipmentScheduled",
        "event_version": 1,
        "occurred_at": now,
        "correlation_id": correlation_id or order["correlation_id"],
        "source": "orders",
        "data": {
            "shipment_id": f"shp-{order['order_id']}-1",
            "order_id": order["order_id"],
            "order_number": "SC-2026-000001",
            "email": order["email"],
            "carrier": "simulated",
            "tracking_number": "TRK-1",
            "status": "label_created",
            "lines": [
                {k: line[k] for k in ("product_id", "variant_id", "sku", "name", "quantity")}
            ],
            "version": 1,
            "at": now,
        },
    }
