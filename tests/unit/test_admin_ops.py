"""Administration's pure parts: what a staff request means in the audit log, which entries
a query selects, what a dead letter is and where a replay goes; the gateway's trail."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Body, FastAPI, Request
from fastapi.testclient import TestClient

from apps.backoffice import audit, dead_letters
from apps.contracts.audit import DeadLetterStatus, GatewayAction, ReplayOutcome
from apps.contracts.identity import Principal, Role
from apps.storefront import admin_ops_api
from apps.storefront.admin_ops_api import AuditTrailMiddleware, redact

T0 = datetime(2026, 1, 25, 11, 0, tzinfo=UTC)


def _action(**over: Any) -> GatewayAction:
    base: dict[str, Any] = {
        "audit_id": "gw-1",
        "request_id": "req-1",
        "method": "POST",
        "path": "/api/staff/orders/o-1/transitions",
        "route": "/api/staff/orders/{order_id}/transitions",
        "path_params": {"order_id": "o-1"},
        "status": 200,
        "actor_id": "staff-1",
        "actor_role": "staff",
        "actor_email": "staff@example.com",
        "request_body": {"to": "processing"},
        "response_body": {"order_id": "o-1", "status": "processing", "items": [{"x": 1}]},
        "at": T0,
    }
    return GatewayAction.model_validate(base | over)


# -- audit: entity and action from the route -------------------------------------------------
def test_a_sub_resource_is_the_action_on_the_entity_of_the_last_id() -> None:
    t = audit.target_of("POST", "/api/staff/orders/{order_id}/transitions", {"order_id": "o-1"})
    assert (t.entity_type, t.entity_id, t.action) == ("order", "o-1", "order.transitions")
    t = audit.target_of("PUT", "/api/admin/users/{user_id}/role", {"user_id": "u-9"})
    assert (t.entity_type, t.entity_id, t.action) == ("user", "u-9", "user.role")


def test_plain_writes_are_created_updated_deleted_and_a_new_id_comes_from_the_answer() -> None:
    t = audit.target_of("POST", "/api/staff/products", {}, {"product_id": "p-7"}, {})
    assert (t.entity_type, t.entity_id, t.action) == ("product", "p-7", "product.created")
    t = audit.target_of("PUT", "/api/staff/products/{product_id}", {"product_id": "p-7"})
    assert t.action == "product.updated"
    t = audit.target_of("DELETE", "/api/admin/dead-letters/{letter_id}", {"letter_id": "d-1"})
    assert (t.entity_type, t.entity_id, t.action) == ("dead_letter", "d-1", "dead_letter.deleted")
    t = audit.target_of("PATCH", "/api/staff/returns/{return_id}/approve", {"return_id": "r-1"})
    assert (t.entity_type, t.action) == ("return", "return.approve")
    refund = audit.target_of("POST", "/api/payments/refund", {}, {}, {"order_id": "o-5"})
    assert (refund.entity_type, refund.entity_id, refund.action) == (
        "payment",
        "o-5",
        "payment.refund",
    )
    assert audit.target_of("POST", "/api/staff/addresses", {}).entity_type == "address"


def test_an_entry_keeps_who_what_and_a_bounded_summary_of_the_change() -> None:
    entry = audit.entry_from(_action(), "gw-1")
    assert entry.audit_id == entry.id == "gw-1"
    assert (entry.actor_id, entry.actor_type, entry.actor_email) == (
        "staff-1",
        "staff",
        "staff@example.com",
    )
    assert entry.changes["requested"] == {"to": "processing"}
    assert entry.changes["result"] == {"order_id": "o-1", "status": "processing"}  # no nested
    assert entry.request_id == "req-1" and entry.status == 200 and entry.timestamp == T0
    assert entry.metadata["path"] == "/api/staff/orders/o-1/transitions"


def test_a_query_filters_by_time_actor_action_and_entity_and_pages_newest_first() -> None:
    entries = [
        audit.entry_from(
            _action(actor_id=f"staff-{i % 2}", at=T0 + timedelta(minutes=i)), f"gw-{i}"
        )
        for i in range(6)
    ]
    everything = audit.AuditQuery()
    items, total = audit.select(entries, everything, page=1, limit=4)
    assert total == 6 and [e.audit_id for e in items] == ["gw-5", "gw-4", "gw-3", "gw-2"]
    items, _ = audit.select(entries, everything, page=2, limit=4)
    assert [e.audit_id for e in items] == ["gw-1", "gw-0"]
    window = audit.AuditQuery(start=T0 + timedelta(minutes=1), end=T0 + timedelta(minutes=3))
    assert [e.audit_id for e in audit.select(entries, window, 1, 50)[0]] == ["gw-2", "gw-1"]
    by_actor = audit.AuditQuery(actor="staff-1", action="order.transitions")
    assert [e.audit_id for e in audit.select(entries, by_actor, 1, 50)[0]] == [
        "gw-5",
        "gw-3",
        "gw-1",
    ]
    assert audit.select(entries, audit.AuditQuery(entity_type="product"), 1, 50) == ([], 0)


def test_the_store_filter_holds_only_the_equalities() -> None:
    assert audit.AuditQuery(start=T0).store_filter() == {"EQ": {"kind": "audit"}}
    assert audit.AuditQuery(actor="a", entity_type="order").store_filter() == {
        "AND": [
            {"EQ": {"kind": "audit"}},
            {"EQ": {"entry.actor_id": "a"}},
            {"EQ": {"entry.entity_type": "order"}},
        ]
    }


# -- dead letters ---------------------------------------------------------------------------
def _cloud_event(**over: Any) -> dict[str, Any]:
    return {
        "id": "evt-1",
        "topic": "shipping-events",
        "pubsubname": "pubsub",
        "source": "orders",
        "type": "com.dapr.event.sent",
        "data": {"event_id": "evt-1", "event_type": "ShipmentScheduled", "data": {}},
    } | over


def test_a_dead_letter_keeps_the_original_topic_and_publisher() -> None:
    letter = dead_letters.from_cloud_event(_cloud_event(), T0)
    assert letter is not None
    assert (letter.topic, letter.source, letter.event_type, letter.event_id) == (
        "shipping-events",
        "orders",
        "ShipmentScheduled",
        "evt-1",
    )
    assert letter.replayable and letter.failed_by is None and letter.count == 1
    assert dead_letters.from_cloud_event(_cloud_event(id=None), T0) is None


def test_garbage_is_kept_too_and_an_apps_own_report_names_the_app_and_is_not_replayable() -> None:
    garbage = dead_letters.from_cloud_event(_cloud_event(data={"garbage": "x"}), T0)
    assert garbage is not None and garbage.event_type == "com.dapr.event.sent"
    own = dead_letters.from_cloud_event(
        _cloud_event(
            topic="dead-letter-events",
            source="notifications",
            data={"event_type": "NotificationDeadLettered"},
        ),
        T0,
    )
    assert own is not None and own.failed_by == "notifications" and not own.replayable


def test_seen_again_counts_and_reopens() -> None:
    letter = dead_letters.from_cloud_event(_cloud_event(), T0)
    assert letter is not None
    replayed = letter.model_copy(update={"status": DeadLetterStatus.REPLAYED})
    again = dead_letters.seen_again(replayed, T0 + timedelta(seconds=5))
    assert again.count == 2 and again.status == DeadLetterStatus.OPEN
    assert again.first_seen == T0 and again.last_seen == T0 + timedelta(seconds=5)


def test_routes_come_from_the_apps_own_subscriptions_for_that_pubsub_and_topic() -> None:
    subs = [
        {"pubsubname": "pubsub", "topic": "shipping-events", "route": "/events/shipping-events"},
        {"pubsubname": "pubsub-broadcast", "topic": "shipping-events", "route": "/events/live"},
        {"pubsubname": "pubsub", "topic": "order-events", "route": "/events/order-events"},
        {"pubsubname": "pubsub", "topic": "shipping-events", "routes": {"default": "/x"}},
        "nonsense",
    ]
    assert dead_letters.routes_for(subs, "pubsub", "shipping-events") == [
        "/events/shipping-events",
        "/x",
    ]
    assert dead_letters.routes_for({"error": 1}, "pubsub", "shipping-events") == []


def test_a_replay_resolves_only_when_every_consumer_accepts() -> None:
    letter = dead_letters.from_cloud_event(_cloud_event(), T0)
    assert letter is not None
    assert dead_letters.outcome_status(200, {"status": "drop"}) == "DROP"
    assert dead_letters.outcome_status(204, None) == "SUCCESS"
    assert dead_letters.outcome_status(503, {}) == "HTTP 503"
    ok = ReplayOutcome(app_id="orders", route="/r", status="SUCCESS")
    dropped = ReplayOutcome(app_id="notifications", route="/r", status="DROP")
    still, resolved = dead_letters.after_replay(letter, [ok, dropped], T0)
    assert not resolved and still.status == DeadLetterStatus.OPEN and still.last_replay
    done, resolved = dead_letters.after_replay(letter, [ok], T0)
    assert resolved and done.status == DeadLetterStatus.REPLAYED and done.replayed_at == T0
    assert not dead_letters.after_replay(letter, [], T0)[1]


def test_dead_letters_filter_by_status_and_topic() -> None:
    a = dead_letters.from_cloud_event(_cloud_event(id="a"), T0)
    b = dead_letters.from_cloud_event(_cloud_event(id="b", topic="order-events"), T0)
    assert a is not None and b is not None
    b = b.model_copy(update={"status": DeadLetterStatus.REPLAYED})
    pick = dead_letters.select
    assert [
        d.dead_letter_id for d in pick([a, b], DeadLetterStatus.OPEN, None, None, 1, 10)[0]
    ] == ["a"]
    assert pick([a, b], None, "order-events", None, 1, 10)[1] == 1


# -- the gateway's trail --------------------------------------------------------------------
def test_secrets_are_masked_before_they_are_recorded() -> None:
    body = {"password": "p", "new_password": "q", "card": {"number": "4"}, "name": "x" * 900}
    out = redact(body)
    assert out["password"] == out["new_password"] == out["card"] == "***"
    assert len(out["name"]) == 500


class FakeSidecar:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    async def invoke(self, app_id: str, path: str, **kw: Any) -> Any:
        self.calls.append((app_id, path, kw.get("json_body")))

        class Reply:
            ok = True
            status = 202

        return Reply()


def test_the_gateway_records_staff_writes_with_route_and_outcome_not_customer_ones(
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(admin_ops_api, "FLUSH_SECONDS", 0.01)
    app = FastAPI()
    sidecar = FakeSidecar()
    app.state.sidecar = sidecar

    @app.put("/api/staff/products/{product_id}")
    async def update(
        product_id: str, request: Request, body: dict[str, Any] = Body(...)
    ) -> dict[str, Any]:
        role = Role(request.headers["x-role"])
        request.state.principal = Principal(user_id=f"{role}-1", role=role, email="s@x.io")
        return {"product_id": product_id, "price": "9.99", "variants": [{}]}

    @app.post("/api/cart/items")
    async def shop(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, str]:
        request.state.principal = Principal(user_id="s", role=Role(request.headers["x-role"]))
        return {}

    @app.get("/api/staff/products/{product_id}")
    async def read(product_id: str, request: Request) -> dict[str, str]:
        request.state.principal = Principal(user_id="s", role=Role.STAFF)
        return {}

    app.add_middleware(AuditTrailMiddleware)
    with TestClient(app) as client:
        body = {"price": "9.99", "password": "never"}
        assert client.put("/api/staff/products/p-1", json=body, headers={"x-role": "staff"})
        client.put("/api/staff/products/p-2", json=body, headers={"x-role": "customer"})
        client.get("/api/staff/products/p-3")
        client.post("/api/cart/items", json={}, headers={"x-role": "staff"})  # own shopping

        async def settle() -> None:
            await asyncio.sleep(0.2)

        client.portal.call(settle)  # type: ignore[union-attr]
    sent = [a for _, path, b in sidecar.calls for a in b["actions"]]
    assert [c[:2] for c in sidecar.calls] == [("backoffice", "audit/gateway-actions")]
    assert len(sent) == 1
    action = sent[0]
    assert action["route"] == "/api/staff/products/{product_id}"
    assert action["path_params"] == {"product_id": "p-1"}
    assert (action["actor_id"], action["actor_role"], action["status"]) == ("staff-1", "staff", 200)
    assert action["request_body"] == {"price": "9.99", "password": "***"}
    assert action["response_body"]["price"] == "9.99"
    entry = audit.entry_from(GatewayAction.model_validate(action), action["audit_id"])
    assert (entry.entity_type, entry.entity_id, entry.action) == (
        "product",
        "p-1",
        "product.updated",
    )
