"""The checkout saga on Dapr Workflow: started once per Idempotency-Key, run to completion
through two apps (catalog prices, orders creates), and its status readable."""

from typing import Any

import httpx

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


def _orders_call(cluster: Cluster, order_id: str, to: str) -> None:
    base = f"{cluster.apps['storefront'].dapr_url}/v1.0/invoke/orders/method"
    with httpx.Client(base_url=base, timeout=20) as orders:
        r = orders.post(f"/orders/{order_id}/transitions", json=factories.transition(to))
        assert r.status_code == 200, r.text


def _stock(api: Any, product_id: str) -> dict[str, Any]:
    return api.get(f"/api/products/{product_id}/inventory").json()["variants"][0]


def test_saga_reserves_stock_and_order_events_settle_it(cluster: Cluster) -> None:
    product = factories.product()
    product["variants"][0]["stock"] = 1
    buy = {"product_id": product["product_id"], "quantity": 1}
    with cluster.client("storefront") as api:
        assert api.post("/api/staff/products", json=product).status_code == 201
        first_shopper, second_shopper = factories.email(), factories.email()
        first = api.post(
            "/api/orders",
            json={"email": first_shopper, "items": [buy]},
            headers={"Idempotency-Key": factories.ref("idem")},
        ).json()["order_id"]
        assert _wait_completed(api, first)["result"]["outcome"] == "awaiting_payment"
        assert _stock(api, product["product_id"])["reserved"] == 1

        # The last unit is held: a second shopper is refused and their order cancelled.
        second = api.post(
            "/api/orders",
            json={"email": second_shopper, "items": [buy]},
            headers={"Idempotency-Key": factories.ref("idem")},
        ).json()["order_id"]
        state = _wait_completed(api, second)
        assert state["result"]["outcome"] == "rejected"
        assert state["result"]["reason"]["code"] == "CONFLICT"
        refused = api.get(f"/api/orders/{second}", params={"email": second_shopper}).json()
        assert refused["status"] == "cancelled" and "stock" in refused["cancel_reason"]

        # Paying the first order commits its hold (catalog reacts to OrderPaid).
        _orders_call(cluster, first, "paid")
        eventually(
            lambda: _stock(api, product["product_id"])
            == {**_stock(api, product["product_id"]), "on_hand": 0, "reserved": 0},
            timeout=30,
        )


def test_cancelled_order_releases_its_stock(cluster: Cluster) -> None:
    product = factories.product()
    with cluster.client("storefront") as api:
        assert api.post("/api/staff/products", json=product).status_code == 201
        order_id = api.post(
            "/api/orders",
            json={
                "email": factories.email(),
                "items": [{"product_id": product["product_id"], "quantity": 4}],
            },
            headers={"Idempotency-Key": factories.ref("idem")},
        ).json()["order_id"]
        assert _wait_completed(api, order_id)["result"]["outcome"] == "awaiting_payment"
        assert _stock(api, product["product_id"])["available"] == 6
        _orders_call(cluster, order_id, "cancelled")
        eventually(lambda: _stock(api, product["product_id"])["available"] == 10, timeout=30)
