"""OrderActor on real sidecars: guarded transitions, the payment-timeout reminder, state
and reminders surviving a crash of the hosting app, and the language-neutral actor API."""

from typing import Any

import httpx

from tests import factories
from tests.harness import Cluster, eventually


def _orders(cluster: Cluster) -> httpx.Client:
    return cluster.invoker("orders")


def _place(cluster: Cluster, **overrides: Any) -> dict[str, Any]:
    with _orders(cluster) as orders:
        resp = orders.post("/orders", json=factories.order(**overrides))
        assert resp.status_code == 201, resp.text
        return resp.json()


def test_order_lifecycle_and_illegal_transition(cluster: Cluster) -> None:
    order = _place(cluster)
    oid = order["order_id"]
    assert order["status"] == "pending"
    assert order["order_number"].startswith("SC-")
    with _orders(cluster) as orders:
        illegal = orders.post(f"/orders/{oid}/transitions", json=factories.transition("shipped"))
        assert illegal.status_code == 409
        err = illegal.json()["error"]
        assert err["code"] == "CONFLICT"
        assert err["details"]["current_status"] == "pending"
        assert orders.get(f"/orders/{oid}").json()["version"] == 1

        t = factories.transition("awaiting_payment")
        first = orders.post(f"/orders/{oid}/transitions", json=t)
        assert first.status_code == 200
        retry = orders.post(f"/orders/{oid}/transitions", json=t)  # same transition id
        assert retry.json()["version"] == first.json()["version"] == 2
        assert [h["to_status"] for h in retry.json()["history"]] == ["pending", "awaiting_payment"]


def test_create_is_idempotent_and_order_numbers_unique(cluster: Cluster) -> None:
    body = factories.order()
    with _orders(cluster) as orders:
        first = orders.post("/orders", json=body)
        again = orders.post("/orders", json=body)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["order_number"] == again.json()["order_number"]
    numbers = {_place(cluster)["order_number"] for _ in range(5)}
    assert len(numbers) == 5


def test_guest_lookup_needs_the_right_email(cluster: Cluster) -> None:
    order = _place(cluster)
    with cluster.client("storefront") as api:
        ok = api.get(f"/api/orders/{order['order_id']}", params={"email": order["email"].upper()})
        assert ok.status_code == 200
        wrong = api.get(f"/api/orders/{order['order_id']}", params={"email": "x@example.com"})
        missing = api.get("/api/orders/o-does-not-exist", params={"email": "x@example.com"})
    assert wrong.status_code == missing.status_code == 404
    assert wrong.json()["error"]["message"] == missing.json()["error"]["message"]


def test_payment_timeout_reminder_cancels_unpaid_order(cluster: Cluster) -> None:
    order = _place(cluster, payment_timeout_seconds=2)
    with _orders(cluster) as orders:

        def cancelled() -> dict[str, Any]:
            current = orders.get(f"/orders/{order['order_id']}").json()
            assert current["status"] == "cancelled", current["status"]
            return current

        final = eventually(cancelled, timeout=30)
    assert final["cancel_reason"] == "Payment was not completed in time"
    assert final["history"][-1]["actor"] == "payment-timeout"


def test_state_and_reminders_survive_a_crash_of_the_actor_host(cluster: Cluster) -> None:
    kept = _place(cluster)
    with _orders(cluster) as orders:
        moved = orders.post(
            f"/orders/{kept['order_id']}/transitions", json=factories.transition("awaiting_payment")
        )
        assert moved.status_code == 200
    timed = _place(cluster, payment_timeout_seconds=6)

    cluster.restart_app("orders", crash=True)  # SIGKILL app and sidecar, then start again

    with _orders(cluster) as orders:
        after = eventually(lambda: orders.get(f"/orders/{kept['order_id']}"), timeout=30)
        assert after.status_code == 200
        assert after.json()["status"] == "awaiting_payment"
        assert after.json()["version"] == 2

        def cancelled() -> bool:
            return orders.get(f"/orders/{timed['order_id']}").json()["status"] == "cancelled"

        eventually(cancelled, timeout=45)


def test_actor_is_callable_with_plain_json_through_the_dapr_actor_api(cluster: Cluster) -> None:
    """What a .NET or Node service would do: no Python SDK, just the Dapr HTTP actor API."""
    body = factories.order()
    body["order_number"] = "SC-2026-999999"
    oid = body["order_id"]
    with cluster.sidecar("storefront") as dapr:
        created = dapr.put(f"/v1.0/actors/OrderActor/{oid}/method/create", json=body)
        assert created.status_code == 200, created.text
        assert created.json()["ok"] is True
        bad = dapr.put(f"/v1.0/actors/OrderActor/{oid}/method/transition", json={"to": "flying"})
        assert bad.json()["ok"] is False
        assert bad.json()["error"]["code"] == "INVALID_REQUEST"
        got = dapr.put(f"/v1.0/actors/OrderActor/{oid}/method/get")
        assert got.json()["order"]["order_number"] == "SC-2026-999999"
        assert got.json()["order"]["status"] == "pending"
