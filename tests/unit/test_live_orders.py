"""Live order updates: the hub (apps/storefront/live.py), the browser's view of events
(live_events.py) and the stream (live_api.py). Events reach only their own order's streams,
versions only go forward, queues and the replay ring stay bounded, limits answer 429."""

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.contracts.errors import TooManyRequests
from apps.contracts.events import EventEnvelope
from apps.contracts.orders import Order, OrderStatusChanged, Tracking
from apps.contracts.shipping import CustomerNotificationRequested, ShipmentStatusUpdated
from apps.storefront.live import Limits, LiveHub
from apps.storefront.live_api import _opening, _stream
from apps.storefront.live_events import KEEPALIVE, ORDER_KEY, LiveEvent, frame, live_event

NOW = datetime.now(UTC)
LINE = {
    "product_id": "p-x",
    "variant_id": "p-x-v1",
    "sku": "SKU-X",
    "name": "Thing",
    "quantity": 1,
    "unit_price": "10.00",
    "line_total": "10.00",
}
TOTALS = {"subtotal": "10.00", "tax": "0.80", "total": "10.80", "currency": "USD"}


def order_envelope(
    order_id: str, status: str, version: int, event_id: str | None = None
) -> EventEnvelope:
    payload = OrderStatusChanged.model_validate(
        {
            "order_id": order_id,
            "order_number": "SC-2026-000001",
            "email": "zoe@example.com",
            "user_id": "u-1",
            "status": status,
            "previous_status": "paid",
            "totals": TOTALS,
            "items": [LINE],
            "version": version,
            "at": NOW.isoformat(),
        }
    )
    return EventEnvelope.of(
        payload,
        correlation_id="c-1",
        source="orders",
        event_id=event_id or f"{order_id}:v{version}",
    )


def shipment_envelope(
    order_id: str, status: str, version: int, cls: Any = ShipmentStatusUpdated
) -> EventEnvelope:
    payload = cls.model_validate(
        {
            "shipment_id": "shp-1",
            "order_id": order_id,
            "order_number": "SC-2026-000001",
            "email": "zoe@example.com",
            "carrier": "SimPost",
            "tracking_number": "SIM1",
            "status": status,
            "location": "Depot",
            "lines": [{k: v for k, v in LINE.items() if k not in ("unit_price", "line_total")}],
            "version": version,
            "at": NOW.isoformat(),
        }
    )
    return EventEnvelope.of(
        payload, correlation_id="c-1", source="orders", event_id=f"shp-1:{version}"
    )


def order_event(order_id: str, status: str, version: int) -> LiveEvent:
    event = live_event(order_envelope(order_id, status, version))
    assert event is not None
    return event


def hub(**limits: int) -> LiveHub:
    return LiveHub(Limits(**limits), since=NOW - timedelta(minutes=1))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# -- the browser's view of an event --------------------------------------------------------
def test_an_order_event_shows_what_moved_and_nothing_private() -> None:
    event = order_event("o-1", "shipped", 5)
    assert (event.kind, event.order_id, event.key, event.version) == ("order", "o-1", "order", 5)
    assert event.data["status"] == "shipped" and event.data["previous_status"] == "paid"
    assert event.data["type"] == "OrderStatusChanged" and event.data["version"] == 5
    assert not {"email", "user_id", "items", "totals"} & set(event.data)
    assert not event.ends
    assert order_event("o-1", "delivered", 6).ends and order_event("o-1", "cancelled", 6).ends


def test_a_shipment_event_is_keyed_by_its_shipment() -> None:
    event = live_event(shipment_envelope("o-1", "picked_up", 2))
    assert event is not None and (event.kind, event.key, event.version) == ("shipment", "shp-1", 2)
    assert event.data["status"] == "picked_up" and event.data["location"] == "Depot"
    assert not {"email", "lines", "user_id"} & set(event.data)
    assert not event.ends  # only the order's own status ends a stream
    staff_note = shipment_envelope("o-1", "picked_up", 2, cls=CustomerNotificationRequested)
    note = live_event(staff_note)
    assert note is not None and note.silent and (note.key, note.version) == ("shp-1", 2)


def test_frames_are_one_json_line_and_never_carry_a_broken_id() -> None:
    text = frame("order", {"note": "two\nlines"}, "e-1").decode()
    assert text == 'id: e-1\nevent: order\ndata: {"note":"two\\nlines"}\n\n'
    assert frame("order", {}, "e-1\nevent: end").decode().startswith("event: order\n")


# -- fan-out -------------------------------------------------------------------------------
def test_an_event_reaches_only_the_streams_of_its_order() -> None:
    h = hub()
    a1, a2, b = h.open("o-a", "user:1"), h.open("o-a", "user:2"), h.open("o-b", "user:1")
    assert h.publish(order_event("o-a", "fulfilling", 4)) == 2
    got = run(asyncio.wait_for(a1.next(1), 1)), run(a2.next(1))
    assert [[e.data["status"] for e in batch] for batch in got] == [["fulfilling"]] * 2
    assert run(b.next(0.01)) == []  # nothing for order B
    assert h.publish(order_event("o-c", "paid", 2)) == 0  # nobody watches C here


def test_versions_only_go_forward_on_a_stream() -> None:
    h = hub()
    sub = h.open("o-1", "user:1")
    sub.seen(ORDER_KEY, 4)  # the snapshot showed version 4
    for version in (3, 4, 5, 5, 4, 6):  # older, same, newer, duplicate, reordered, newer
        h.publish(order_event("o-1", "shipped", version))
    h.publish(live_event(shipment_envelope("o-1", "picked_up", 2)))  # type: ignore[arg-type]
    h.publish(live_event(shipment_envelope("o-1", "label_created", 1)))  # type: ignore[arg-type]
    batch = run(sub.next(0.01))
    assert [(e.key, e.version) for e in batch] == [("order", 5), ("order", 6), ("shp-1", 2)]


def test_an_event_that_overtook_its_predecessor_waits_for_it() -> None:
    h = hub(hold_seconds=5)
    sub = h.open("o-1", "user:1")
    sub.seen(ORDER_KEY, 4)
    h.publish(order_event("o-1", "delivered", 6))  # handled before v5 (concurrent handlers)
    assert run(sub.next(0.05)) == []  # held, not sent ahead of v5
    h.publish(order_event("o-1", "shipped", 5))
    assert [e.version for e in run(sub.next(0.05))] == [5, 6]


def test_a_version_that_never_comes_holds_the_next_only_briefly() -> None:
    h = hub(hold_seconds=0.2)
    sub = h.open("o-1", "user:1")
    sub.seen(ORDER_KEY, 4)
    h.publish(order_event("o-1", "shipped", 6))  # v5 changed the order without an event

    async def read() -> tuple[list[LiveEvent], float, list[LiveEvent]]:
        started = time.monotonic()
        first = await sub.next(2)
        waited = time.monotonic() - started
        h.publish(order_event("o-1", "paid", 5))  # too late: never sent behind v6
        return first, waited, await sub.next(0.05)

    first, waited, late = run(read())
    assert [e.version for e in first] == [6] and 0.15 < waited < 1.5
    assert late == []


def test_a_silent_event_keeps_its_shipment_sequence_whole() -> None:
    h = hub(hold_seconds=5)
    sub = h.open("o-1", "user:1")
    for version, status in ((1, "label_created"), (3, "in_transit")):
        h.publish(live_event(shipment_envelope("o-1", status, version)))  # type: ignore[arg-type]
    assert [e.version for e in run(sub.next(0.05))] == [1]  # 3 waits for 2
    note = shipment_envelope("o-1", "label_created", 2, cls=CustomerNotificationRequested)
    h.publish(live_event(note))  # type: ignore[arg-type]
    assert [e.version for e in run(sub.next(0.05))] == [3]  # the note itself is not sent


def test_events_from_before_the_replica_started_are_not_kept() -> None:
    h = LiveHub(Limits(), since=NOW + timedelta(hours=1))  # within the skew, not before
    sub = h.open("o-1", "user:1")
    assert h.publish(order_event("o-1", "shipped", 5)) == 0
    assert h.replay("o-1", "o-1:v5") is None and run(sub.next(0.01)) == []


# -- bounds --------------------------------------------------------------------------------
def test_a_slow_reader_overflows_once_and_holds_nothing() -> None:
    h = hub(queue_size=3)
    slow, other = h.open("o-1", "user:1"), h.open("o-1", "user:2")
    for version in range(1, 5):
        h.publish(order_event("o-1", "paid", version))
    assert slow.overflowed and not slow._queue
    assert run(slow.next(0.01)) == []  # the stream then tells the browser to re-sync
    h.publish(order_event("o-1", "paid", 9))
    assert not slow._queue  # nothing more is kept for it
    assert other.overflowed  # the same bound for everyone


def test_stream_limits_per_customer_and_replica_answer_429() -> None:
    h = hub(max_streams=3, max_per_owner=2)
    first = h.open("o-1", "user:1")
    h.open("o-2", "user:1")
    with pytest.raises(TooManyRequests) as refused:
        h.open("o-3", "user:1")
    assert refused.value.status == 429 and refused.value.details["limit"] == 2
    h.open("o-4", "guest:zoe@example.com")
    with pytest.raises(TooManyRequests):
        h.open("o-5", "user:2")  # the replica is full
    h.leave(first)
    h.leave(first)  # leaving twice frees one place only
    assert h.streams == 2 and first.closed
    h.open("o-3", "user:1")
    with pytest.raises(TooManyRequests):
        h.open("o-6", "user:3")


def test_the_replay_ring_is_bounded_per_order_and_in_orders() -> None:
    h = hub(replay_events=3, replay_orders=2)
    for version in range(1, 6):
        h.publish(order_event("o-1", "paid", version))
    h.publish(order_event("o-1", "paid", 5))  # a redelivery is kept once
    assert [e.version for e in h.replay("o-1", "o-1:v3") or []] == [4, 5]
    assert h.replay("o-1", "o-1:v1") is None  # fell out of the ring: a snapshot instead
    assert h.replay("o-1", None) is None
    h.publish(order_event("o-2", "paid", 1))
    h.publish(order_event("o-1", "paid", 6))  # o-1 used last: o-2 goes first
    h.publish(order_event("o-3", "paid", 1))
    assert h.replay("o-2", "o-2:v1") is None
    assert h.replay("o-1", "o-1:v5") is not None and h.replay("o-3", "o-3:v1") == []


def test_shutdown_ends_every_stream_and_opens_none() -> None:
    h = hub()
    sub = h.open("o-1", "user:1")
    h.shutdown()
    assert sub.closed and run(sub.next(5)) == []  # returns at once
    with pytest.raises(TooManyRequests):
        h.open("o-1", "user:1")


# -- the stream ----------------------------------------------------------------------------
def order_doc(status: str, version: int) -> Order:
    return Order.model_validate(
        {
            "order_id": "o-1",
            "order_number": "SC-2026-000001",
            "email": "zoe@example.com",
            "status": status,
            "items": [LINE],
            "totals": TOTALS,
            "shipping_address": {
                "name": "Zoe",
                "line1": "1 Main St",
                "city": "Springfield",
                "postal_code": "12345",
                "country": "US",
            },
            "history": [],
            "created_at": NOW.isoformat(),
            "updated_at": NOW.isoformat(),
            "correlation_id": "c-1",
            "version": version,
        }
    )


def tracking(status: str) -> Tracking:
    return Tracking.model_validate(
        {
            "order_id": "o-1",
            "order_number": "SC-2026-000001",
            "status": status,
            "cancellable": False,
            "timeline": [],
        }
    )


def parse(chunks: list[bytes]) -> list[tuple[str, Any, str | None]]:
    frames = []
    for block in b"".join(chunks).decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            frames.append((fields["event"], json.loads(fields["data"]), fields.get("id")))
        elif block.startswith(":"):
            frames.append(("comment", None, None))
    return frames


async def collect(h: LiveHub, sub: Any, opening: Any, feed: list[LiveEvent], **kw: Any) -> Any:
    chunks: list[bytes] = []

    async def read() -> None:
        async for chunk in _stream(h, sub, opening, kw.get("deadline", 1e12), kw.get("ka", 5)):
            chunks.append(chunk)

    reader = asyncio.create_task(read())
    for event in feed:
        await asyncio.sleep(0.01)
        h.publish(event)
    await asyncio.wait_for(reader, 5)
    return parse(chunks)


def test_a_stream_starts_from_a_snapshot_and_ends_with_its_order() -> None:
    h = hub()
    sub = h.open("o-1", "guest:zoe@example.com")
    h.publish(order_event("o-1", "fulfilling", 4))  # arrived while the snapshot was read
    opening = _opening(h, sub, order_doc("fulfilling", 4), tracking("fulfilling"), None)
    feed = [
        live_event(shipment_envelope("o-1", "picked_up", 2)),
        order_event("o-1", "shipped", 5),
        order_event("o-1", "delivered", 6),
        order_event("o-1", "completed", 7),  # after the end: never sent
    ]
    frames = run(collect(h, sub, opening, feed))  # type: ignore[arg-type]
    names = [(name, data.get("status") if data else None) for name, data, _ in frames]
    assert names == [
        ("snapshot", "fulfilling"),
        ("shipment", "picked_up"),
        ("order", "shipped"),
        ("order", "delivered"),
        ("end", "delivered"),
    ]
    assert frames[0][1]["version"] == 4 and frames[3][2] == "o-1:v6"  # ids for Last-Event-ID
    assert h.streams == 0  # the stream left the hub


def test_a_reconnect_gets_what_it_missed_instead_of_a_snapshot() -> None:
    h = hub()
    for version in (4, 5):
        h.publish(order_event("o-1", "shipped" if version == 5 else "fulfilling", version))
    sub = h.open("o-1", "user:1")
    frames, ended = _opening(h, sub, order_doc("shipped", 5), tracking("shipped"), "o-1:v4")
    assert not ended
    assert [f for f in frames if b"event:" in f] == [frame("order", _data(h, 5), "o-1:v5")]
    # An id this replica does not hold: a snapshot.
    other = h.open("o-1", "user:1")
    frames, _ = _opening(h, other, order_doc("shipped", 5), tracking("shipped"), "o-1:v1")
    assert [name for name, _, _ in parse(frames)] == ["snapshot"]
    # An order already at its end: the snapshot and the end, nothing held open.
    done = h.open("o-1", "user:2")
    frames, ended = _opening(h, done, order_doc("cancelled", 6), tracking("cancelled"), None)
    assert ended and [name for name, _, _ in parse(frames)] == ["snapshot", "end"]


def _data(h: LiveHub, version: int) -> dict[str, Any]:
    return next(e.data for e in h._recent["o-1"] if e.version == version)


def test_a_quiet_stream_sends_keep_alives_and_closes_at_its_deadline() -> None:
    h = hub()
    sub = h.open("o-1", "user:1")
    opening = _opening(h, sub, order_doc("paid", 3), tracking("paid"), None)
    started = time.monotonic()
    frames = run(collect(h, sub, opening, [], deadline=started + 0.35, ka=0.1))
    assert 0.3 < time.monotonic() - started < 2
    assert frames[0][0] == "snapshot"
    assert 2 <= [name for name, _, _ in frames].count("comment") <= 4
    assert "end" not in [name for name, _, _ in frames]  # the browser reconnects by itself
    assert h.streams == 0


def test_a_reader_that_falls_behind_is_told_to_resync() -> None:
    h = hub(queue_size=2)
    sub = h.open("o-1", "user:1")
    opening = _opening(h, sub, order_doc("paid", 3), tracking("paid"), None)
    for version in (4, 5, 6):  # before the stream reads anything
        h.publish(order_event("o-1", "paid", version))
    frames = run(collect(h, sub, opening, []))
    assert [name for name, _, _ in frames] == ["snapshot", "resync"]
    assert KEEPALIVE.startswith(b":") and h.streams == 0
