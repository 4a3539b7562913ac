"""Issue 14, live order updates: `GET /api/orders/{id}/events` streams a paid order's
progress to its owner as Server-Sent Events, fed by pub/sub (pubsub-broadcast: every
storefront replica receives every order and shipping event). Real sidecars, Redis streams,
the checkout saga and the simulated carrier (one scan a second in the test cluster)."""

import json
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx

from tests import factories, webhooks
from tests.harness import Cluster, eventually

Frame = tuple[str, Any, str | None]
ROUTE = ["picked_up", "in_transit", "out_for_delivery", "delivered"]
STREAM_TIMEOUT = httpx.Timeout(30, read=60)


class Sse:
    """A minimal EventSource: frames as (event, data, id); comments skipped."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.iter_lines()
        self.received_at: list[float] = []

    def next(self) -> Frame | None:
        fields: dict[str, str] = {}
        for line in self.lines:
            if line == "":
                if "event" in fields:
                    self.received_at.append(time.time())
                    return fields["event"], json.loads(fields["data"]), fields.get("id")
                fields = {}
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        return None  # the server ended the stream

    def rest(self) -> list[Frame]:
        frames = []
        while (got := self.next()) is not None:
            frames.append(got)
        return frames


@contextmanager
def stream(url: str, order_id: str, email: str, **headers: str) -> Iterator[Sse]:
    with (
        httpx.Client(base_url=url, timeout=STREAM_TIMEOUT) as client,
        client.stream(
            "GET", f"/api/orders/{order_id}/events", params={"email": email}, headers=headers
        ) as response,
    ):
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "no-store" in response.headers["cache-control"]
        yield Sse(response)


def placed_order(api: httpx.Client) -> tuple[str, str]:
    """A guest's order for a new product, placed and not yet paid: (order id, email)."""
    product = factories.product()
    product["variants"][0]["stock"] = 10
    assert api.post("/api/staff/products", json=product).status_code == 201
    line = {
        "product_id": product["product_id"],
        "variant_id": product["variants"][0]["variant_id"],
        "quantity": 1,
    }
    email = factories.email()
    placed = api.post(
        "/api/orders",
        json=factories.checkout(line, email=email),
        headers={"Idempotency-Key": factories.ref("idem")},
    )
    assert placed.status_code == 202, placed.text
    order_id = str(placed.json()["order_id"])

    def readable() -> bool:
        got = api.get(f"/api/orders/{order_id}", params={"email": email})
        assert got.status_code == 200, got.text
        return True

    eventually(readable, timeout=30)
    return order_id, email


def progress(frames: list[Frame]) -> tuple[list[str], list[str]]:
    """The order statuses (snapshot first) and shipment statuses a browser was shown."""
    orders = [data["status"] for name, data, _ in frames if name in ("snapshot", "order")]
    shipments = [data["status"] for name, data, _ in frames if name == "shipment"]
    return orders, shipments


def assert_delivered_story(frames: list[Frame], order_id: str) -> None:
    names = [name for name, _, _ in frames]
    assert names[0] == "snapshot" and names[-1] == "end", names
    assert frames[-1][1] == {"status": "delivered"}
    orders, shipments = progress(frames)
    # From the snapshot on, each status once and in order.
    path = ["pending", "awaiting_payment", "paid", "fulfilling", "shipped", "delivered"]
    assert orders == sorted(set(orders), key=path.index), orders
    assert orders[-3:] == ["fulfilling", "shipped", "delivered"], orders
    assert [s for s in shipments if s != "label_created"] == ROUTE, shipments
    for name, data, event_id in frames[1:-1]:
        assert data["order_id"] == order_id and event_id, (name, data)
        assert "email" not in data and "items" not in data
    versions = [data["version"] for name, data, _ in frames if name in ("snapshot", "order")]
    assert versions == sorted(set(versions))


def latencies(sse: Sse, frames: list[Frame]) -> list[float]:
    """Seconds from each event's commit (`at`) to its frame reaching the client."""
    events = [(f, t) for f, t in zip(frames, sse.received_at[1:], strict=False) if f[0] != "end"]
    return [t - datetime.fromisoformat(f[1]["at"]).timestamp() for f, t in events]


def test_the_owner_watches_a_paid_order_until_it_is_delivered(cluster: Cluster) -> None:
    url = cluster.apps["storefront"].url
    with cluster.client("storefront") as api:
        order_id, email = placed_order(api)
        with stream(url, order_id, email) as sse:
            snapshot = sse.next()
            assert snapshot is not None and snapshot[0] == "snapshot"
            assert snapshot[1]["order_id"] == order_id and snapshot[1]["version"] >= 1
            assert snapshot[1]["status"] in ("pending", "awaiting_payment")
            webhooks.pay(cluster, order_id)
            webhooks.release(cluster, order_id)
            rest = sse.rest()  # ends by itself once the order is delivered
        frames = [snapshot, *rest]
        assert_delivered_story(frames, order_id)
        seen = latencies(sse, rest)
        print(
            f"\n[live] {len(seen)} events, commit->browser median "
            f"{statistics.median(seen) * 1000:.0f} ms, max {max(seen) * 1000:.0f} ms"
        )
        assert max(seen) < 5
        # What the stream said is what tracking says.
        tracking = api.get(f"/api/orders/{order_id}/tracking", params={"email": email}).json()
        assert tracking["status"] == "delivered"
        assert tracking["shipments"][0]["status"] == "delivered"

        # Reconnecting to a delivered order: its snapshot and the end, nothing held open.
        with stream(url, order_id, email) as again:
            frames = again.rest()
        assert [name for name, _, _ in frames] == ["snapshot", "end"]
        assert frames[0][1]["status"] == "delivered" and frames[0][1]["shipments"]

        # Resuming with the id of an event this replica still holds replays what follows.
        shipped_id = next(i for n, d, i in rest if n == "order" and d["status"] == "shipped")
        with stream(url, order_id, email, **{"Last-Event-ID": shipped_id}) as resumed:
            frames = resumed.rest()
        assert [(n, d["status"]) for n, d, _ in frames if n == "order"] == [("order", "delivered")]
        assert frames[-1][0] == "end" and "snapshot" not in [n for n, _, _ in frames]


def test_a_stranger_gets_the_404_of_a_missing_order_and_no_stream(cluster: Cluster) -> None:
    with cluster.client("storefront") as api:
        order_id, email = placed_order(api)
        for params in ({"email": factories.email()}, {}):
            refused = api.get(f"/api/orders/{order_id}/events", params=params)
            assert refused.status_code == 404, refused.text
            assert refused.headers["content-type"].startswith("application/json")
            assert refused.json()["error"]["code"] == "RESOURCE_NOT_FOUND"
        missing = api.get("/api/orders/o-missing-1/events", params={"email": email})
        assert missing.status_code == 404
        assert refused.json()["error"]["message"] == missing.json()["error"]["message"]
        assert api.get("/api/orders/bad id!/events").status_code in (400, 404, 422)


def test_the_event_routes_refuse_anyone_but_the_sidecar(cluster: Cluster) -> None:
    """The storefront faces the internet: a forged order event is refused, not streamed."""
    with httpx.Client(base_url=cluster.apps["storefront"].url, timeout=10) as anyone:
        forged = anyone.post("/events/live/order-events", json={"data": {}})
        assert forged.status_code == 401


def test_every_replica_streams_every_event_and_limits_hold(cluster: Cluster) -> None:
    """A second storefront replica (its own pubsub-broadcast consumer group) streams the
    order too, while the first one does; a customer's streams beyond the replica's limit
    are refused with a 429; stopping a replica ends its streams at once."""
    env = {**cluster.apps["storefront"].env, "STOREFRONT_LIVE_MAX_STREAMS_PER_USER": "1"}
    second = cluster.start_app("storefront-2", app_id="storefront", env=env)
    try:
        with cluster.client("storefront") as api:
            order_id, email = placed_order(api)
            both: dict[str, list[Frame]] = {}
            opened = threading.Barrier(3, timeout=60)

            def watch(name: str, url: str) -> None:
                with stream(url, order_id, email) as sse:
                    first = sse.next()
                    opened.wait()
                    both[name] = [first, *sse.rest()]  # type: ignore[list-item]

            readers = [
                threading.Thread(target=watch, args=(name, cluster.apps[name].url))
                for name in ("storefront", "storefront-2")
            ]
            for reader in readers:
                reader.start()
            opened.wait()
            # Replica 2 allows one stream per customer: a second one for this guest is a 429.
            with httpx.Client(base_url=second.url, timeout=10) as client:
                extra = client.get(f"/api/orders/{order_id}/events", params={"email": email})
            assert extra.status_code == 429, extra.text
            assert int(extra.headers["retry-after"]) > 0
            webhooks.pay(cluster, order_id)
            webhooks.release(cluster, order_id)
            for reader in readers:
                reader.join(timeout=120)
            assert set(both) == {"storefront", "storefront-2"}
            for frames in both.values():
                assert_delivered_story(frames, order_id)
            # Both opened before the payment (their snapshots may differ): the same story
            # from there on, shipment steps included.
            told = [progress(frames) for frames in both.values()]
            assert len({str((o[o.index("paid") :], s)) for o, s in told}) == 1, told

            # A replica that stops ends its streams instead of waiting for them.
            other_id, other_email = placed_order(api)
            ended: list[Frame] = []

            def hold() -> None:
                with stream(second.url, other_id, other_email) as sse:
                    while (got := sse.next()) is not None:
                        ended.append(got)

            holder = threading.Thread(target=hold)
            holder.start()
            eventually(lambda: bool(ended), timeout=30, interval=0.1)  # the snapshot came
            stopping = time.monotonic()
            cluster.stop_app("storefront-2")
            holder.join(timeout=30)
            assert not holder.is_alive()
            assert time.monotonic() - stopping < 15
            # No `end` (the browser reconnects elsewhere); the order, placed a moment ago, may
            # have moved on (awaiting payment) before the replica stopped.
            names = [name for name, _, _ in ended]
            assert names[0] == "snapshot" and "end" not in names, names
    finally:
        cluster.stop_app("storefront-2")
        del cluster.apps["storefront-2"]
