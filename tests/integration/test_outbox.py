"""Events committed with their state but never published (a crash between commit and
publish) are published by the catalog's outbox sweeper, not lost."""

import uuid
from datetime import UTC, datetime, timedelta

from tests import factories
from tests.harness import Cluster, eventually


def test_leftover_outbox_documents_are_published_and_removed(cluster: Cluster) -> None:
    old = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    key = f"outbox:crash-{uuid.uuid4()}"
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "StockLevelChanged",
        "event_version": 1,
        "occurred_at": old,
        "correlation_id": "crash-test",
        "source": "catalog",
        "data": {
            "sku": "X",
            "product_id": "p",
            "on_hand": 1,
            "reserved": 0,
            "available": 1,
            "reason": "test",
        },
    }
    doc = {
        "kind": "outbox",
        "key": key,
        "created_at": old,
        "events": [{"topic": "inventory-events", "event": event}],
    }
    # Write as the catalog itself would have (its sidecar, its key prefix), then "crash".
    with cluster.sidecar("catalog", timeout=10) as dapr:
        assert (
            dapr.post("/v1.0/state/statestore", json=[{"key": key, "value": doc}]).status_code
            == 204
        )
        eventually(lambda: dapr.get(f"/v1.0/state/statestore/{key}").status_code == 204, timeout=20)


def test_pending_product_events_are_published(cluster: Cluster) -> None:
    body = factories.product()
    with cluster.client("storefront") as api:
        assert api.post("/api/staff/products", json=body).status_code == 201
    key = f"product:{body['product_id']}"
    with cluster.sidecar("catalog", timeout=10) as dapr:
        stored = dapr.get(f"/v1.0/state/statestore/{key}").json()
        assert stored["outbox_state"] == "clear"
        left = {
            **stored,
            "outbox_state": "pending",
            "outbox": [
                {
                    "event_id": str(uuid.uuid4()),
                    "event_type": "ProductUpdated",
                    "event_version": 1,
                    "occurred_at": stored["product"]["updated_at"],
                    "correlation_id": "crash-test",
                    "source": "catalog",
                    "data": {"product": stored["product"], "changed_fields": ["name"]},
                }
            ],
        }
        left["product"] = {
            **stored["product"],
            "updated_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        }
        assert (
            dapr.post("/v1.0/state/statestore", json=[{"key": key, "value": left}]).status_code
            == 204
        )

        def cleared() -> bool:
            doc = dapr.get(f"/v1.0/state/statestore/{key}").json()
            return doc["outbox_state"] == "clear" and doc["outbox"] == []

        eventually(cleared, timeout=20)
