"""Inbound deliveries: `dispatch`'s answers, and the fast path for event types a route does
not handle (it must answer exactly what `dispatch` would, and never skip a handled one)."""

from typing import Any

import pytest
from fastapi import Body, FastAPI
from fastapi.testclient import TestClient

from apps.contracts.events import EventEnvelope
from apps.platform.subscriptions import dispatch, subscribe

TOKEN = "app-token-for-the-test"


def delivery(event_type: Any, **data: Any) -> dict[str, Any]:
    envelope = {
        "event_id": f"e-{event_type}",
        "event_type": event_type,
        "occurred_at": "2026-12-02T10:00:00Z",
        "correlation_id": "c-1",
        "source": "orders",
        "data": data,
    }
    return {"id": "ce-1", "type": "com.dapr.event.sent", "data": envelope}


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> tuple[TestClient, list[tuple[str, str]]]:
    monkeypatch.setenv("APP_API_TOKEN", TOKEN)
    seen: list[tuple[str, str]] = []
    api = FastAPI()

    async def on_events(cloud_event: dict[str, Any] = Body(...)) -> dict[str, str]:
        data = cloud_event.get("data")
        seen.append(("endpoint", str(data.get("event_type") if isinstance(data, dict) else data)))

        async def handle(event: EventEnvelope) -> None:
            seen.append(("handled", event.event_type))

        return await dispatch(cloud_event, {"OrderPaid": handle})

    subscribe(api, "order-events", "/events/order-events", on_events, "pubsub")
    return TestClient(api, headers={"dapr-api-token": TOKEN}), seen


def test_dispatch_answers(app: tuple[TestClient, list[tuple[str, str]]]) -> None:
    client, seen = app
    assert client.post("/events/order-events", json=delivery("OrderPaid")).json() == {
        "status": "SUCCESS"
    }
    assert ("handled", "OrderPaid") in seen
    poison = {"id": "ce-2", "data": {"event_type": "OrderPaid"}}  # no envelope fields
    assert client.post("/events/order-events", json=poison).json() == {"status": "DROP"}


def test_an_ignored_type_is_answered_without_the_endpoint_once_the_route_is_known(
    app: tuple[TestClient, list[tuple[str, str]]],
) -> None:
    client, seen = app
    # Before the route's first handled delivery nothing is known: the full path answers.
    assert client.post("/events/order-events", json=delivery("OrderCreated")).json() == {
        "status": "SUCCESS"
    }
    assert seen == [("endpoint", "OrderCreated")]
    client.post("/events/order-events", json=delivery("OrderPaid"))
    seen.clear()
    r = client.post("/events/order-events", json=delivery("OrderCreated"))
    assert (r.status_code, r.json()) == (200, {"status": "SUCCESS"})
    assert seen == []  # the endpoint never ran
    # A handled type still reaches its handler, every time.
    client.post("/events/order-events", json=delivery("OrderPaid"))
    assert seen == [("endpoint", "OrderPaid"), ("handled", "OrderPaid")]


@pytest.mark.parametrize(
    "body",
    [
        {"id": "ce-3", "data": {"event_type": 42}},  # not a string
        {"id": "ce-4", "data": "not an object"},
        {"id": "ce-5"},  # no data
    ],
)
def test_malformed_deliveries_take_the_full_path(
    app: tuple[TestClient, list[tuple[str, str]]], body: dict[str, Any]
) -> None:
    client, seen = app
    client.post("/events/order-events", json=delivery("OrderPaid"))
    seen.clear()
    r = client.post("/events/order-events", json=body)
    assert r.json() == {"status": "DROP"}  # dispatch's answer to a poison message
    assert seen and seen[0][0] == "endpoint"


def test_only_the_apps_own_sidecar_gets_the_fast_answer(
    app: tuple[TestClient, list[tuple[str, str]]],
) -> None:
    client, seen = app
    client.post("/events/order-events", json=delivery("OrderPaid"))
    seen.clear()
    forged = client.post(
        "/events/order-events",
        json=delivery("OrderCreated"),
        headers={"dapr-api-token": "not-the-token"},
    )
    assert seen == [("endpoint", "OrderCreated")]  # no short cut: the app's own checks apply
    assert forged.status_code == 200  # this bare test app has no token middleware of its own


def test_other_routes_are_untouched(app: tuple[TestClient, list[tuple[str, str]]]) -> None:
    client, _ = app
    assert client.get("/dapr/subscribe").json() == [
        {
            "pubsubname": "pubsub",
            "topic": "order-events",
            "route": "/events/order-events",
            "metadata": {},
            "deadLetterTopic": "dead-letter-events",
        }
    ]


def test_each_app_learns_its_own_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two apps in one process with the same route: what one handles says nothing of the
    other (a handled type must never be answered for an app that has not learned yet)."""
    monkeypatch.setenv("APP_API_TOKEN", TOKEN)
    seen: list[str] = []

    def app_handling(event_type: str) -> TestClient:
        api = FastAPI()

        async def on_events(cloud_event: dict[str, Any] = Body(...)) -> dict[str, str]:
            async def handle(event: EventEnvelope) -> None:
                seen.append(f"{event_type} handled")

            return await dispatch(cloud_event, {event_type: handle})

        subscribe(api, "order-events", "/events/order-events", on_events, "pubsub")
        return TestClient(api, headers={"dapr-api-token": TOKEN})

    first, second = app_handling("OrderPaid"), app_handling("OrderCreated")
    first.post("/events/order-events", json=delivery("OrderPaid"))
    first.post("/events/order-events", json=delivery("OrderCreated"))  # ignored by the first
    second.post("/events/order-events", json=delivery("OrderCreated"))
    assert seen == ["OrderPaid handled", "OrderCreated handled"]
