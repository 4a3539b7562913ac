"""Administration on real sidecars: a poison message lands in the dead-letter list, is
replayed once after the fix and can be discarded; staff actions land in the audit log
with their actor and entity; only admins reach these routes (at the gateway and again in
the backoffice)."""

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from apps.contracts.identity import Principal, Role
from apps.platform.context import sign_context
from tests import factories
from tests.dead_letters import paid_order, shipment_scheduled
from tests.harness import Cluster, eventually
from tests.tokens import TokenIssuer

ROOT = Path(__file__).resolve().parents[2]
Json = dict[str, Any]


def _letters(api: httpx.Client, admin: dict[str, str], **params: Any) -> list[Json]:
    r = api.get("/api/admin/dead-letters", params=params, headers=admin)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_a_poison_message_is_kept_replayed_once_after_the_fix_and_discarded(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    admin = issuer.headers(factories.ref("admin"), "admin")
    order = paid_order(cluster)
    event_id = f"poison-{uuid.uuid4()}"
    with cluster.sidecar("orders") as dapr:  # orders owns shipping-events
        r = dapr.post(
            "/v1.0/publish/pubsub/shipping-events",
            params={"metadata.cloudevent.id": event_id},
            json=shipment_scheduled(order, event_id),
        )
        assert r.status_code == 204, r.text

    with cluster.client("storefront") as api:

        def kept() -> Json | None:
            found = [d for d in _letters(api, admin, topic="shipping-events", limit=100)]
            return next((d for d in found if d["dead_letter_id"] == event_id), None)

        letter = eventually(kept, timeout=60)
        assert letter["status"] == "open" and letter["replayable"]
        assert (letter["source"], letter["event_type"]) == ("orders", "ShipmentScheduled")
        assert letter["cloud_event"]["data"]["event_id"] == event_id
        got = api.get(f"/api/admin/dead-letters/{event_id}", headers=admin)
        assert got.status_code == 200 and got.json()["topic"] == "shipping-events"

        # Before the fix the consumer still cannot handle it: it stays open.
        r = api.post(
            f"/api/admin/dead-letters/{event_id}/replay", json={"app_id": "orders"}, headers=admin
        )
        assert r.status_code == 200, r.text
        before = r.json()
        assert not before["resolved"]
        assert before["outcomes"] == [
            {"app_id": "orders", "route": "/events/shipping-events", "status": "DROP"}
        ]

        # The fix: staff release the order, which books the shipment the event is about.
        assert api.post(f"/api/staff/orders/{order['order_id']}/release").status_code == 200

        def shipments() -> list[Json]:
            page = api.get("/api/staff/shipments", params={"order_id": order["order_id"]})
            return list(page.json()["items"])

        eventually(lambda: len(shipments()) == 1, timeout=30)
        r = api.post(f"/api/admin/dead-letters/{event_id}/replay", headers=admin)
        assert r.status_code == 200, r.text
        after = r.json()
        by_app = {o["app_id"]: o["status"] for o in after["outcomes"]}
        assert by_app.get("orders") == "SUCCESS", after
        assert set(by_app) >= {"orders", "notifications"}  # every consumer of the topic
        assert set(by_app.values()) == {"SUCCESS"}, after
        assert after["resolved"] and after["dead_letter"]["status"] == "replayed"
        # Replayed once: a second replay is refused, and the list shows it replayed.
        again = api.post(f"/api/admin/dead-letters/{event_id}/replay", headers=admin)
        assert again.status_code == 409
        assert event_id not in [d["dead_letter_id"] for d in _letters(api, admin, status="open")]
        # The replayed event and the release's own did not make a second shipment.
        time.sleep(1)
        assert [s["shipment_id"] for s in shipments()] == [f"shp-{order['order_id']}-1"]

        assert api.delete(f"/api/admin/dead-letters/{event_id}", headers=admin).status_code == 204
        assert api.get(f"/api/admin/dead-letters/{event_id}", headers=admin).status_code == 404
        assert all(d["dead_letter_id"] != event_id for d in _letters(api, admin, limit=100))
        gone = api.delete(f"/api/admin/dead-letters/{event_id}", headers=admin)
        assert gone.status_code == 404


def _audit(api: httpx.Client, admin: dict[str, str], **params: Any) -> list[Json]:
    r = api.get("/api/admin/audit-logs", params=params, headers=admin)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_staff_actions_land_in_the_audit_log_with_actor_and_entity(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    admin = issuer.headers(factories.ref("admin"), "admin")
    staff_id = factories.ref("staff")
    staff = issuer.headers(staff_id, "staff")
    product = factories.product()
    started = datetime.now(UTC) - timedelta(seconds=5)
    with cluster.client("storefront") as api:
        assert api.post("/api/staff/products", json=product, headers=staff).status_code == 201
        order = paid_order(cluster)
        assert (
            api.post(f"/api/staff/orders/{order['order_id']}/release", headers=staff).status_code
            == 200
        )
        # A refused attempt is recorded too (staff on an admin route).
        assert api.delete("/api/admin/dead-letters/none", headers=staff).status_code == 403

        mine = eventually(
            lambda: (found := _audit(api, admin, actor=staff_id)) and len(found) >= 3 and found,
            timeout=30,
        )
        by_action = {e["action"]: e for e in mine}
        created = by_action["product.created"]
        assert (created["entity_type"], created["entity_id"]) == ("product", product["product_id"])
        assert created["actor_type"] == "staff" and created["status"] == 201
        assert created["changes"]["requested"]["name"] == product["name"]
        assert created["request_id"].startswith("req-")
        release = by_action["order.release"]
        assert (release["entity_type"], release["entity_id"]) == ("order", order["order_id"])
        assert by_action["dead_letter.deleted"]["status"] == 403

        # Filters: entity type, action, time window, paging.
        products = _audit(api, admin, actor=staff_id, entity_type="product")
        assert [e["entity_id"] for e in products] == [product["product_id"]]
        assert [
            e["action"] for e in _audit(api, admin, actor=staff_id, action="order.release")
        ] == ["order.release"]
        window = {"start_date": started.isoformat(), "actor": staff_id}
        assert len(_audit(api, admin, **window)) == len(mine)
        later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
        assert _audit(api, admin, actor=staff_id, start_date=later) == []
        assert _audit(api, admin, actor=staff_id, end_date=started.isoformat()) == []
        first = api.get(
            "/api/admin/audit-logs", params={"actor": staff_id, "limit": 2}, headers=admin
        ).json()
        assert first["total"] == len(mine) and len(first["items"]) == 2


ADMIN_ROUTES = [
    ("GET", "/api/admin/audit-logs"),
    ("GET", "/api/admin/dead-letters"),
    ("GET", "/api/admin/dead-letters/x"),
    ("POST", "/api/admin/dead-letters/x/replay"),
    ("DELETE", "/api/admin/dead-letters/x"),
]


def test_only_admins_reach_the_admin_routes(cluster: Cluster, issuer: TokenIssuer) -> None:
    customer = issuer.headers(factories.ref("c"), "customer")
    staff = issuer.headers(factories.ref("s"), "staff")
    with cluster.client("storefront") as api:
        for method, path in ADMIN_ROUTES:
            assert api.request(method, path).status_code == 401, path
            for who in (customer, staff):
                assert api.request(method, path, headers=who).status_code == 403, path
    # The backoffice checks again: no context, or a staff one, is refused there too.
    key = json.loads((ROOT / "components/local/secrets.gateway.json").read_text())[
        "gateway-context-key"
    ]
    as_staff = sign_context(Principal(user_id="s-1", role=Role.STAFF), key)
    with cluster.invoker("backoffice") as backoffice:
        for method, path in ADMIN_ROUTES:
            internal = path.removeprefix("/api/")
            assert backoffice.request(method, internal).status_code == 403, path
            r = backoffice.request(method, internal, headers={"X-SC-Context": as_staff})
            assert r.status_code == 403, path
        # Only the gateway may report actions.
        r = backoffice.post(
            "/audit/gateway-actions",
            json={"actions": []},
        )
        assert r.status_code in (400, 403, 422)
    with cluster.invoker("backoffice", via="orders") as backoffice:
        fake = {
            "actions": [
                {
                    "audit_id": "gw-forged",
                    "request_id": "req-forged",
                    "method": "POST",
                    "path": "/api/staff/products",
                    "status": 201,
                    "actor_id": "someone-else",
                    "actor_role": "staff",
                    "at": datetime.now(UTC).isoformat(),
                }
            ]
        }
        assert backoffice.post("/audit/gateway-actions", json=fake).status_code == 403
        # naming the gateway itself does not help: orders' sidecar adds the real caller
        forged = {"dapr-caller-app-id": "storefront"}
        r = backoffice.post("/audit/gateway-actions", json=fake, headers=forged)
        assert r.status_code == 403, r.text
