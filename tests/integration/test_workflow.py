"""The checkout saga on Dapr Workflow: started once per Idempotency-Key, run to completion
through two apps (catalog prices, orders creates), and its status readable."""

from typing import Any

from tests import factories
from tests.harness import Cluster, eventually


def _wait_completed(api: Any, order_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any]:
        state = api.get(f"/api/checkout/{order_id}").json()
        assert state["status"] in ("completed", "failed"), state
        return state

    return eventually(done, timeout=60)


def test_checkout_workflow_runs_to_completion(cluster: Cluster) -> None:
    product = factories.product()
    shopper = factories.email()
    request = {
        "email": shopper,
        "items": [
            {"product_id": product["product_id"], "quantity": 2},
            {
                "product_id": product["product_id"],
                "variant_id": product["variants"][1]["variant_id"],
                "quantity": 1,
            },
        ],
    }
    key = factories.ref("idem")
    with cluster.client("storefront") as api:
        assert api.post("/api/staff/products", json=product).status_code == 201
        accepted = api.post("/api/orders", json=request, headers={"Idempotency-Key": key})
        assert accepted.status_code == 202, accepted.text
        order_id = accepted.json()["order_id"]
        replay = api.post("/api/orders", json=request, headers={"Idempotency-Key": key})
        assert replay.status_code == 202
        assert replay.json()["order_id"] == order_id
        assert replay.headers.get("Idempotent-Replayed") == "true"

        state = _wait_completed(api, order_id)
        assert state["status"] == "completed", state
        result = state["result"]
        assert result["outcome"] == "awaiting_payment"
        # 2 x 999.00 + 1 x 1049.00 = 3047.00; tax 8.25% = 251.3775 -> 251.38
        assert result["totals"]["subtotal"] == "3047.00"
        assert result["totals"]["tax"] == "251.38"
        assert result["totals"]["total"] == "3298.38"

        order = api.get(f"/api/orders/{order_id}", params={"email": shopper}).json()
        assert order["status"] == "awaiting_payment"
        assert order["order_number"] == result["order_number"]
        assert len(order["items"]) == 2


def test_checkout_of_unknown_product_is_rejected_without_an_order(cluster: Cluster) -> None:
    shopper = factories.email()
    with cluster.client("storefront") as api:
        accepted = api.post(
            "/api/orders",
            json={"email": shopper, "items": [{"product_id": "p-unknown-1", "quantity": 1}]},
            headers={"Idempotency-Key": factories.ref("idem")},
        )
        order_id = accepted.json()["order_id"]
        state = _wait_completed(api, order_id)
        assert state["result"]["outcome"] == "rejected"
        assert state["result"]["reason"]["code"] == "UNPROCESSABLE_ENTITY"
        assert api.get(f"/api/orders/{order_id}", params={"email": shopper}).status_code == 404
