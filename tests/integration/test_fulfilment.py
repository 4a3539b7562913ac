"""Issue 14, fulfilment: a paid order is shipped by the simulated carrier (one scan a second
in the test cluster) and the customer sees every step; staff look after shipments; a paid
order cancelled before pick-up voids its label. Real sidecars, PostgreSQL, Redis and the
checkout saga; payment results arrive as signed Stripe webhooks."""

import time
from typing import Any

import httpx

from tests import factories, webhooks
from tests.harness import Cluster, eventually

Json = dict[str, Any]
ROUTE = ["label_created", "picked_up", "in_transit", "out_for_delivery", "delivered"]


def _tracking(api: httpx.Client, order_id: str, email: str) -> Json:
    r = api.get(f"/api/orders/{order_id}/tracking", params={"email": email})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_paid_order_is_delivered_and_the_customer_sees_every_step(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        order_id, email, _ = webhooks.paid_order(cluster, api, quantity=2)
        seen: set[str] = set()

        def delivered() -> Json:
            tracking = _tracking(api, order_id, email)
            for parcel in tracking["shipments"]:
                seen.add(parcel["status"])
            assert tracking["status"] == "delivered", tracking["status"]
            return tracking

        tracking = eventually(delivered, timeout=90, interval=0.3)
        (parcel,) = tracking["shipments"]
        assert parcel["carrier"] == "SimPost" and parcel["tracking_number"].startswith("SIM")
        assert parcel["tracking_url"].endswith(parcel["tracking_number"])
        assert [e["status"] for e in parcel["events"]] == ROUTE
        assert parcel["delivered_at"] is not None and parcel["current_location"]
        assert tracking["estimated_delivery"] is None  # nothing left travelling
        # The order's own timeline went through every state after paid, once each.
        states = [t["status"] for t in tracking["timeline"]]
        assert states[-4:] == ["paid", "fulfilling", "shipped", "delivered"], states
        assert len(seen) >= 2  # the customer saw it travel, not only the end
        # A delivered order cannot be cancelled any more.
        refused = api.post(f"/api/orders/{order_id}/cancel", json={"email": email})
        assert refused.status_code == 409
        assert refused.json()["error"]["details"]["current_status"] == "delivered"

        # Staff: the shipment by order, its record, and the carrier's own account.
        listed = api.get("/api/staff/shipments", params={"order_id": order_id})
        assert listed.status_code == 200 and listed.json()["total"] == 1
        shipment_id = listed.json()["items"][0]["shipment_id"]
        record = api.get(f"/api/staff/shipments/{shipment_id}").json()
        assert record["status"] == "delivered" and record["order_id"] == order_id
        assert [e["status"] for e in record["events"]] == ROUTE
        carrier = api.get(f"/api/staff/shipments/{shipment_id}/carrier-tracking").json()
        assert carrier["status"] == "delivered" and len(carrier["events"]) == 4
        delivered_list = api.get(
            "/api/staff/shipments", params={"status": "delivered", "limit": 100}
        ).json()
        assert shipment_id in {s["shipment_id"] for s in delivered_list["items"]}
        # A delivered shipment takes no further status: 409 with what is allowed (nothing).
        late = api.put(f"/api/staff/shipments/{shipment_id}/status", json={"status": "in_transit"})
        assert late.status_code == 409, late.text
        assert late.json()["error"]["details"]["current_status"] == "delivered"
        # Cases with the carrier are kept on the shipment.
        case = api.post(
            f"/api/staff/shipments/{shipment_id}/contact-carrier",
            json={"issue_description": "Customer says the box was damaged"},
        )
        assert case.status_code == 200, case.text
        assert case.json()["issues"][0]["carrier_reference"].startswith(record["tracking_number"])
        notified = api.post(
            f"/api/staff/shipments/{shipment_id}/notify-customer",
            json={"notification_type": "status_update"},
            headers={"Idempotency-Key": factories.ref("notify")},
        )
        assert notified.status_code == 202, notified.text


def test_cancelling_a_released_order_before_pick_up_voids_its_label(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        order_id, email, _ = webhooks.paid_order(cluster, api, quantity=1)

        def scheduled() -> Json:
            found = api.get("/api/staff/shipments", params={"order_id": order_id}).json()
            assert found["items"], "not scheduled yet"
            return dict(found["items"][0])

        shipment = eventually(scheduled, timeout=30, interval=0.1)
        # Cancel as soon as the order is fulfilling; the carrier may already have picked it
        # up (one scan a second), in which case the shop refuses: both ends are checked.
        cancelled = api.post(
            f"/api/orders/{order_id}/cancel", json={"email": email, "reason": "changed mind"}
        )
        if cancelled.status_code == 200:
            assert cancelled.json()["status"] == "cancelled"

            def voided() -> Json:
                s = api.get(f"/api/staff/shipments/{shipment['shipment_id']}").json()
                assert s["status"] == "cancelled", s["status"]
                return dict(s)

            record = eventually(voided, timeout=30)
            assert [e["status"] for e in record["events"]] == ["label_created", "cancelled"]
            # The carrier never moves it again, and the order stays cancelled.
            order = api.get(f"/api/orders/{order_id}", params={"email": email}).json()
            assert order["status"] == "cancelled"
        else:
            assert cancelled.status_code == 409, cancelled.text
            assert cancelled.json()["error"]["details"]["current_status"] in (
                "shipped",
                "delivered",
            )


def test_a_paid_order_cancelled_in_its_hold_is_never_shipped(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        order_id, email, _ = webhooks.paid_order(cluster, api, quantity=1, ship=False)

        def paid() -> Json:
            order = api.get(f"/api/orders/{order_id}", params={"email": email}).json()
            assert order["status"] == "paid", order["status"]
            return dict(order)

        eventually(paid, timeout=30)
        assert api.get("/api/staff/shipments", params={"order_id": order_id}).json()["total"] == 0
        cancelled = api.post(f"/api/orders/{order_id}/cancel", json={"email": email})
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        # Staff cannot send a cancelled order to the warehouse, and nothing was booked.
        late = api.post(f"/api/staff/orders/{order_id}/release")
        assert late.status_code == 409, late.text
        assert late.json()["error"]["details"]["current_status"] == "cancelled"
        time.sleep(2)
        assert api.get("/api/staff/shipments", params={"order_id": order_id}).json()["total"] == 0


def test_the_hold_ends_by_itself_and_the_order_ships(cluster: Cluster) -> None:
    """With a one-second hold (orders restarted with it), a paid order goes to the warehouse
    and the carrier without anyone releasing it."""
    cluster.stop_app("orders")
    cluster.start_app("orders", env={"ORDERS_FULFILMENT_HOLD_SECONDS": "1"})
    try:
        with cluster.client("storefront") as api:
            order_id, email, _ = webhooks.paid_order(cluster, api, quantity=1, ship=False)

            def shipped() -> Json:
                tracking = _tracking(api, order_id, email)
                assert tracking["status"] in ("shipped", "delivered"), tracking["status"]
                return tracking

            tracking = eventually(shipped, timeout=60, interval=0.5)
            steps = [t["status"] for t in tracking["timeline"]]
            assert steps[steps.index("paid") :][:3] == ["paid", "fulfilling", "shipped"], steps
            release = next(t for t in tracking["timeline"] if t["status"] == "fulfilling")
            assert "warehouse" in release["description"]
    finally:
        cluster.stop_app("orders")
        cluster.start_app("orders", env={"ORDERS_FULFILMENT_HOLD_SECONDS": "3600"})


def test_bad_shipment_requests_are_refused_and_change_nothing(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        assert api.get("/api/staff/shipments/shp-missing-1").status_code == 404
        assert api.get("/api/staff/shipments/not-a-shipment").status_code in (400, 422)
        assert api.get("/api/staff/shipments", params={"status": "lost"}).status_code in (400, 422)
        bad = api.put("/api/staff/shipments/shp-missing-1/status", json={"status": "teleported"})
        assert bad.status_code in (400, 422)
        short = api.post(
            "/api/staff/shipments/shp-missing-1/contact-carrier", json={"issue_description": ""}
        )
        assert short.status_code in (400, 422)
    # Shoppers see none of it.
    with httpx.Client(base_url=cluster.apps["storefront"].url, timeout=10) as anonymous:
        assert anonymous.get("/api/staff/shipments").status_code == 401
