"""The saga's shape as an operator and the fraud model see it, on real sidecars: where a
checkout's time went (`result.steps`), and the account history a signed-in customer's
order is scored with (identity's standing, orders' history: internal routes only)."""

import threading
import time
from typing import Any

import httpx

from tests import factories, webhooks
from tests.harness import Cluster, eventually

PASSWORD = "SecurePassword123!"
Json = dict[str, Any]


def _done(api: httpx.Client, order_id: str) -> Json:
    def check() -> Json:
        state = api.get(f"/api/staff/checkouts/{order_id}").json()
        assert state["status"] == "completed", state
        return dict(state["result"])

    return eventually(check, timeout=90)


def _signed_in(api: httpx.Client) -> tuple[str, dict[str, str]]:
    email = factories.email()
    r = api.post("/api/auth/signup", json={"email": email, "name": "Steady", "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = api.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return email, {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_a_signed_in_checkout_is_scored_with_its_history_and_says_where_time_went(
    cluster: Cluster,
) -> None:
    with cluster.client("storefront") as api:
        product = factories.product()
        product["variants"][0]["stock"] = 10
        assert api.post("/api/staff/products", json=product).status_code == 201
        email, auth = _signed_in(api)
        user_id = api.get("/api/users/me", headers=auth).json()["user_id"]
        saved = {"stripe_payment_method_id": "pm_card_visa", "brand": "Visa", "last4": "4242"}
        r = api.post("/api/users/me/payment-methods", json=saved, headers=auth)
        assert r.status_code == 201, r.text

        line = {"product_id": product["product_id"], "quantity": 1}
        orders = []
        for _ in range(2):
            r = api.post(
                "/api/orders",
                json=factories.checkout(line, email=email),
                headers={**auth, "Idempotency-Key": factories.ref("idem")},
            )
            assert r.status_code == 202, r.text
            orders.append(r.json()["order_id"])
            webhooks.pay(cluster, orders[-1])
            first = _done(api, orders[-1])
            assert first["outcome"] == "paid", first

        steps = [s["step"] for s in first["steps"]]
        assert steps[:3] == ["place_order", "reserve_stock", "score_fraud"], steps
        assert steps[-3:] == ["request_payment", "payment_result", "settle"], steps
        done_at = [s["done_at_ms"] for s in first["steps"]]
        assert done_at == sorted(done_at) and all(s["activity_ms"] >= 0 for s in first["steps"])

        # What the second order was scored with: the account, the saved card, the first order.
        with cluster.invoker("identity", via="checkout") as identity:
            standing = identity.get(
                f"/users/{user_id}/standing", params={"payment_method": "pm_card_visa"}
            ).json()
            assert standing["user_id"] == user_id and standing["payment_method_added_at"]
            other = identity.get(f"/users/{user_id}/standing", params={"payment_method": "pm_x"})
            assert other.json()["payment_method_added_at"] is None
            assert identity.get("/users/nobody-here/standing").status_code == 404

        with cluster.invoker("orders", via="checkout") as orders_app:

            def history() -> Json:
                r = orders_app.get(f"/customers/{user_id}/history", params={"exclude": orders[1]})
                found = dict(r.json())
                assert found["order_count"] == 1 and found["avg_order_amount"] != "0", found
                return found

            seen = eventually(history, timeout=30)
            assert (seen["orders_last_24h"], seen["orders_last_7d"]) == (1, 1)
            paid = api.get(f"/api/orders/{orders[0]}", headers=auth).json()
            assert seen["avg_order_amount"] == paid["totals"]["total"]

        # Internal routes: the gateway has no way to them.
        assert api.get(f"/api/users/{user_id}/standing", headers=auth).status_code == 404
        assert api.get(f"/api/customers/{user_id}/history", headers=auth).status_code == 404


def test_a_long_poll_answers_when_the_checkout_ends(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        product = factories.product()
        product["variants"][0]["stock"] = 10
        assert api.post("/api/staff/products", json=product).status_code == 201
        body = factories.checkout({"product_id": product["product_id"], "quantity": 1})
        r = api.post("/api/orders", json=body, headers={"Idempotency-Key": factories.ref("i")})
        assert r.status_code == 202, r.text
        order_id = r.json()["order_id"]
        path, mine = f"/api/checkout/{order_id}", {"email": body["email"]}

        # Nobody pays yet: the saga waits, and so does the long poll, for the time asked.
        webhooks.payment_of(cluster, order_id)  # the saga has asked for the payment
        started = time.monotonic()
        waited = api.get(path, params={**mine, "wait": 1.5})
        assert waited.status_code == 200 and waited.json()["status"] == "running"
        assert time.monotonic() - started >= 1.4
        # Someone else's long poll is refused at once, as a plain read is.
        started = time.monotonic()
        stranger = api.get(path, params={"email": factories.email(), "wait": 4})
        assert stranger.status_code == 404 and time.monotonic() - started < 1.0
        assert api.get(path, params={**mine, "wait": 4.5}).status_code == 400

        # Paid while the shopper waits: one request sees the end.
        payer = threading.Timer(0.5, webhooks.pay, args=(cluster, order_id))
        payer.start()
        started = time.monotonic()
        done = api.get(path, params={**mine, "wait": 4}).json()
        payer.join()
        assert done["status"] == "completed" and done["result"]["outcome"] == "paid", done
        assert time.monotonic() - started < 4.0
