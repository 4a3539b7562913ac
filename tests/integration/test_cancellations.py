"""Issue 20 #3/#4: a paid order cancelled before it ships gives everything back exactly
once: its committed stock, its payment (one refund) and the reward points it earned, each
checked against the owner's own record; a redelivered cancellation changes nothing more."""

import json
import time
import uuid

from tests import factories, webhooks
from tests.harness import Cluster, eventually
from tests.tokens import TokenIssuer

PASSWORD = "Cancel-flow-2026"


def _on_hand(cluster: Cluster, product_id: str) -> int:
    with cluster.invoker("catalog") as catalog:
        stock = catalog.get(f"/products/{product_id}/inventory").json()
    return int(stock["variants"][0]["on_hand"])


def test_cancelling_a_paid_order_restocks_refunds_and_takes_points_back_once(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    with cluster.client("storefront") as api:
        email = factories.email()
        signup = {"email": email, "name": "Cancel Flow", "password": PASSWORD}
        assert api.post("/api/auth/signup", json=signup).status_code == 201
        login = api.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        product = factories.product()
        product["variants"][0]["stock"] = 7
        staff = issuer.headers(factories.ref("s"), "staff")
        assert api.post("/api/staff/products", json=product, headers=staff).status_code == 201
        variant = product["variants"][0]["variant_id"]
        line = {"product_id": product["product_id"], "variant_id": variant, "quantity": 3}
        placed = api.post(
            "/api/orders",
            json=factories.checkout(line, email=email),
            headers={**auth, "Idempotency-Key": factories.ref("idem")},
        )
        assert placed.status_code == 202, placed.text
        order_id = placed.json()["order_id"]

        webhooks.pay(cluster, order_id)

        def points() -> int:
            return int(api.get("/api/users/me/rewards", headers=auth).json()["points"])

        eventually(lambda: points() > 0, timeout=60)
        eventually(lambda: _on_hand(cluster, product["product_id"]) == 4, timeout=30)
        order = api.get(f"/api/orders/{order_id}", headers=auth).json()
        assert order["status"] == "paid"
        assert points() == int(float(order["totals"]["total"]))

        cancelled = api.post(
            f"/api/orders/{order_id}/cancel", json={"reason": "changed my mind"}, headers=auth
        )
        assert cancelled.status_code == 200, cancelled.text

        def settled() -> bool:
            assert _on_hand(cluster, product["product_id"]) == 7  # the 3 units are back
            paid = webhooks.payment_of(cluster, order_id)
            assert [r["status"] for r in paid["refunds"]] == ["succeeded"], paid["refunds"]
            assert paid["refunded_amount"] == order["totals"]["total"]
            assert points() == 0
            return True

        eventually(settled, timeout=60)

        # The cancellation delivered again (as pub/sub may): nothing moves twice.
        event = {
            "event_id": f"redelivered-{uuid.uuid4()}",
            "event_type": "OrderCancelled",
            "event_version": 1,
            "occurred_at": order["updated_at"],
            "correlation_id": "redelivery",
            "source": "orders",
            "data": {
                **{k: order[k] for k in ("order_number", "email", "items", "totals", "user_id")},
                "order_id": order_id,
                "status": "cancelled",
                "previous_status": "paid",
                "reason": "changed my mind",
                "version": order["version"] + 1,
                "at": order["updated_at"],
            },
        }
        cluster.publish("order-events", json.loads(json.dumps(event)), times=2)
        with cluster.invoker("catalog") as catalog:
            held = catalog.get(f"/inventory/reservations/{order_id}").json()
        assert held["status"] == "restocked"
        time.sleep(3)  # give the redelivered events time to be (not) applied
        settled()
