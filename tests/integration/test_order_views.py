"""Orders a shopper can list, track and cancel: the projection the orders app keeps from
order-events (actor state is not queryable), access rules at the storefront, staff
listing and look-up by number, and rebuilding the projection from actor state."""

from typing import Any

import httpx

from tests import factories
from tests.harness import Cluster, eventually
from tests.tokens import TokenIssuer


def _orders(cluster: Cluster) -> httpx.Client:
    return cluster.invoker("orders")


def _place(cluster: Cluster, **overrides: Any) -> dict[str, Any]:
    with _orders(cluster) as orders:
        resp = orders.post("/orders", json=factories.order(**overrides))
        assert resp.status_code == 201, resp.text
        return resp.json()


def _move(cluster: Cluster, order_id: str, *statuses: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    with _orders(cluster) as orders:
        for to in statuses:
            resp = orders.post(f"/orders/{order_id}/transitions", json=factories.transition(to))
            assert resp.status_code == 200, resp.text
            body = resp.json()
    return body


def _api(
    cluster: Cluster, issuer: TokenIssuer | None = None, user_id: str = "", role: str = "customer"
) -> httpx.Client:
    client = cluster.client("storefront", timeout=20)
    if issuer is not None:
        client.headers.update(issuer.headers(user_id, role))
    return client


def test_my_orders_newest_first_filtered_and_only_mine(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    me, other = factories.ref("u"), factories.ref("u")
    mine = [_place(cluster, user_id=me) for _ in range(3)]
    _place(cluster, user_id=other)
    _move(cluster, mine[0]["order_id"], "awaiting_payment", "paid")

    with _api(cluster, issuer, me) as api:
        page = api.get("/api/users/me/orders", params={"limit": 2})
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["total"] == 3 and len(body["items"]) == 2
        ids = [o["order_id"] for o in body["items"]]
        assert ids == [mine[2]["order_id"], mine[1]["order_id"]]
        second = api.get("/api/users/me/orders", params={"limit": 2, "page": 2}).json()
        assert [o["order_id"] for o in second["items"]] == [mine[0]["order_id"]]

        def paid_listed() -> bool:
            r = api.get("/api/users/me/orders", params={"status": "paid"}).json()
            return [o["order_id"] for o in r["items"]] == [mine[0]["order_id"]]

        eventually(paid_listed, timeout=20)
    with cluster.client("storefront") as anonymous:
        assert anonymous.get("/api/users/me/orders").status_code == 401


def test_order_access_owner_guest_email_or_404(cluster: Cluster, issuer: TokenIssuer) -> None:
    owner = factories.ref("u")
    order = _place(cluster, user_id=owner)
    oid, email = order["order_id"], order["email"]
    with _api(cluster, issuer, owner) as api:
        assert api.get(f"/api/orders/{oid}").status_code == 200
    with _api(cluster, issuer, factories.ref("u")) as stranger:
        resp = stranger.get(f"/api/orders/{oid}")
        assert resp.status_code == 404
        assert resp.json()["error"]["message"] == "Order not found"
        assert stranger.get(f"/api/orders/{oid}/tracking").status_code == 404
    with cluster.client("storefront") as guest:
        assert guest.get(f"/api/orders/{oid}").status_code == 404
        assert guest.get(f"/api/orders/{oid}", params={"email": email.upper()}).status_code == 200
        assert guest.get(f"/api/orders/{oid}", params={"email": "x@example.com"}).status_code == 404
        assert guest.post(f"/api/orders/{oid}/cancel", json={}).status_code == 404


def test_tracking_timeline_and_cancel_until_shipped(cluster: Cluster, issuer: TokenIssuer) -> None:
    owner = factories.ref("u")
    order = _place(cluster, user_id=owner)
    oid = order["order_id"]
    _move(cluster, oid, "awaiting_payment", "paid")
    with _api(cluster, issuer, owner) as api:
        track = api.get(f"/api/orders/{oid}/tracking").json()
        assert [t["status"] for t in track["timeline"]] == ["pending", "awaiting_payment", "paid"]
        assert track["cancellable"] is True
        cancelled = api.post(f"/api/orders/{oid}/cancel", json={"reason": "changed my mind"})
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        again = api.post(f"/api/orders/{oid}/cancel", json={})  # a retry: same answer
        assert again.status_code == 200 and again.json()["version"] == cancelled.json()["version"]

    shipped = _place(cluster, user_id=owner)
    _move(cluster, shipped["order_id"], "awaiting_payment", "paid", "fulfilling", "shipped")
    with cluster.client("storefront") as guest:
        late = guest.post(
            f"/api/orders/{shipped['order_id']}/cancel", json={"email": shipped["email"]}
        )
        assert late.status_code == 409
        assert late.json()["error"]["details"]["current_status"] == "shipped"
        track = guest.get(
            f"/api/orders/{shipped['order_id']}/tracking", params={"email": shipped["email"]}
        ).json()
        assert track["cancellable"] is False and track["status"] == "shipped"


def test_staff_listing_and_lookup_by_number(cluster: Cluster, issuer: TokenIssuer) -> None:
    order = _place(cluster, user_id=factories.ref("u"))
    number = order["order_number"]
    with _api(cluster, issuer, factories.ref("u"), "customer") as customer:
        assert customer.get("/api/staff/orders").status_code == 403
    with httpx.Client(base_url=cluster.apps["storefront"].url, timeout=20) as anonymous:
        assert anonymous.get("/api/staff/orders").status_code == 401
    with _api(cluster, issuer, factories.ref("staff"), "staff") as staff:
        everything = staff.get("/api/staff/orders")  # no filter at all
        assert everything.status_code == 200 and everything.json()["total"] >= 1
        found = staff.get(f"/api/staff/orders/by-number/{number}")
        assert found.status_code == 200, found.text
        assert found.json()["order_id"] == order["order_id"]
        assert staff.get("/api/staff/orders/by-number/SC-1999-000001").status_code == 404
        listed = staff.get("/api/staff/orders", params={"user_id": order["user_id"]}).json()
        assert [o["order_number"] for o in listed["items"]] == [number]
        assert staff.get(f"/api/staff/orders/{order['order_id']}").status_code == 200


def test_projection_rebuilds_from_actor_state_after_a_lost_event(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    owner = factories.ref("u")
    order = _place(cluster, user_id=owner)
    oid = order["order_id"]
    _move(cluster, oid, "awaiting_payment")
    # Simulate a lost event: the listed view is stuck at the first version.
    with cluster.sidecar("orders") as dapr:
        key = f"order-view:{oid}"
        view = eventually(lambda: dapr.get(f"/v1.0/state/statestore/{key}").json())
        stale = {**view, "status": "pending", "version": 1}
        assert (
            dapr.post("/v1.0/state/statestore", json=[{"key": key, "value": stale}]).status_code
            == 204
        )
    with _api(cluster, issuer, owner) as api:
        listed = api.get("/api/users/me/orders").json()["items"]
        assert listed[0]["status"] == "pending"
        with _orders(cluster) as orders:
            report = orders.post("/admin/projection/rebuild", json={"order_ids": [oid]}).json()
        assert report == {"checked": 1, "updated": 1, "missing": 0}
        listed = api.get("/api/users/me/orders").json()["items"]
        assert (listed[0]["status"], listed[0]["version"]) == ("awaiting_payment", 2)
