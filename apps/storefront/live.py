"""Live order updates on one storefront replica: the fan-out hub behind
`GET /api/orders/{id}/events` (apps/storefront/live_api.py). Pure: the standard library,
`apps.contracts` and live_events.py only, so its rules are tested in milliseconds.

Why a hub per replica: a browser's stream is held by one replica, and every replica sees
every order and shipping event (`pubsub-broadcast`, a consumer group per sidecar), so each
replica hands each event to the streams *it* holds for that order, and to no other.

What it guarantees:
- an event reaches only the subscriptions of its own order (`publish` looks them up by the
  event's order id);
- memory stays bounded: a subscription queues at most `queue_size` events (a consumer that
  falls behind is told to re-sync and dropped, never buffered without end), and the replay
  ring keeps the last `replay_events` events of at most `replay_orders` orders;
- at most `max_streams` streams on the replica and `max_per_owner` per customer (a guest is
  counted by the order's email): beyond them `open` refuses with a 429;
- per order and per shipment, events go out in version order: duplicates (at-least-once
  delivery) and events older than the snapshot are not sent, an event that overtook its
  predecessor waits for it (at most `hold_seconds`).
"""

import asyncio
import contextlib
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from apps.contracts.errors import TooManyRequests
from apps.storefront.live_events import LiveEvent


@dataclass(frozen=True)
class Limits:
    max_streams: int = 2000
    max_per_owner: int = 5
    queue_size: int = 32
    replay_orders: int = 2000
    replay_events: int = 16
    #: How long an event waits for the one before it (deliveries may overtake each other)
    #: before it is sent anyway: a version may also be skipped for good.
    hold_seconds: float = 1.0


@dataclass(eq=False)
class Subscription:
    """One open stream: the events of its order not yet sent, at most `size` of them.

    Per order and per shipment, events go out in version order: pub/sub may hand two
    events published together to the app in either order (handlers run concurrently), so
    one that arrives ahead of a missing predecessor waits up to `hold` seconds for it."""

    order_id: str
    owner: str
    size: int
    hold: float = 1.0
    clock: Callable[[], float] = time.monotonic
    overflowed: bool = False
    closed: bool = False
    _queue: deque[LiveEvent] = field(default_factory=deque)
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    _seen: dict[str, int] = field(default_factory=dict)
    _held: dict[str, dict[int, LiveEvent]] = field(default_factory=dict)
    _held_until: dict[str, float] = field(default_factory=dict)

    def push(self, event: LiveEvent) -> None:
        """Queue `event`; a full queue means the reader fell behind: what it holds is
        dropped and the stream is told to re-sync (from a fresh snapshot)."""
        if self.overflowed or self.closed:
            return
        if len(self._queue) + sum(map(len, self._held.values())) >= self.size:
            self._queue.clear()
            self._held.clear()
            self._held_until.clear()
            self.overflowed = True
        else:
            self._queue.append(event)
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    def seen(self, key: str, version: int) -> None:
        """What the stream already showed (the snapshot's order version)."""
        self._seen[key] = max(version, self._seen.get(key, 0))

    def version(self, key: str) -> int:
        return self._seen.get(key, 0)

    def fresh(self, events: Iterable[LiveEvent]) -> list[LiveEvent]:
        """The events to send now, in version order per order and shipment, each noted as
        shown: older ones and duplicates are dropped, one whose predecessor has not come
        is held (until it comes, or for `hold` seconds)."""
        now = self.clock()
        out: list[LiveEvent] = []
        for event in events:
            last = self._seen.get(event.key)
            if last is not None and event.version <= last:
                continue
            if last is None or event.version == last + 1:
                self._send(event, out)
            else:
                self._held.setdefault(event.key, {}).setdefault(event.version, event)
                self._held_until.setdefault(event.key, now + self.hold)
        for key, until in list(self._held_until.items()):
            if until <= now:  # the gap stays: send what waited, in order
                for version in sorted(self._held.get(key, {})):
                    if version > self._seen.get(key, 0):
                        self._send(self._held[key][version], out)
                self._held.pop(key, None)
                self._held_until.pop(key, None)
        return [e for e in out if not e.silent]

    def _send(self, event: LiveEvent, out: list[LiveEvent]) -> None:
        out.append(event)
        self._seen[event.key] = event.version
        held = self._held.get(event.key)
        while held and (following := held.pop(self._seen[event.key] + 1, None)) is not None:
            out.append(following)
            self._seen[event.key] = following.version
        if held is not None:
            for version in [v for v in held if v <= self._seen[event.key]]:
                del held[version]
            if not held:
                self._held.pop(event.key, None)
                self._held_until.pop(event.key, None)

    def _waiting(self) -> float | None:
        """Seconds until a held event is due, if any is held."""
        return min(self._held_until.values()) - self.clock() if self._held_until else None

    async def next(self, timeout: float) -> list[LiveEvent]:
        """The events due, waiting up to `timeout` seconds for one; [] when none came (time
        for a keep-alive), or at once when the stream overflowed or was closed."""
        deadline = self.clock() + timeout
        while not (self.overflowed or self.closed):
            batch = self.fresh(list(self._queue))
            self._queue.clear()
            if batch:
                return batch
            left = deadline - self.clock()
            if left <= 0:
                break
            due = self._waiting()
            self._ready.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), left if due is None else min(left, due))
        return []


class LiveHub:
    """The replica's open streams by order, their limits and a small replay ring per order
    (for a browser that reconnects with `Last-Event-ID`). `since`: events that happened
    before the replica started are not kept (a new consumer group may be handed a topic's
    history; no stream of this replica can have missed them)."""

    def __init__(self, limits: Limits, since: datetime, skew: timedelta = timedelta(seconds=30)):
        self.limits = limits
        self.since = since - skew
        self._by_order: dict[str, set[Subscription]] = {}
        self._per_owner: dict[str, int] = {}
        self._count = 0
        self._recent: OrderedDict[str, deque[LiveEvent]] = OrderedDict()
        self.closing = False

    @property
    def streams(self) -> int:
        return self._count

    def open(self, order_id: str, owner: str) -> Subscription:
        if self.closing:
            raise TooManyRequests("This server is shutting down; reconnect", retry_after=1)
        if self._count >= self.limits.max_streams:
            raise TooManyRequests(
                "Too many live streams on this server; try again shortly",
                retry_after=5,
                limit=self.limits.max_streams,
            )
        if self._per_owner.get(owner, 0) >= self.limits.max_per_owner:
            raise TooManyRequests(
                "Too many live streams open for this customer; close one first",
                retry_after=5,
                limit=self.limits.max_per_owner,
            )
        sub = Subscription(order_id, owner, self.limits.queue_size, self.limits.hold_seconds)
        self._by_order.setdefault(order_id, set()).add(sub)
        self._per_owner[owner] = self._per_owner.get(owner, 0) + 1
        self._count += 1
        return sub

    def leave(self, sub: Subscription) -> None:
        subs = self._by_order.get(sub.order_id)
        if subs is None or sub not in subs:
            return
        subs.discard(sub)
        if not subs:
            del self._by_order[sub.order_id]
        left = self._per_owner[sub.owner] - 1
        if left:
            self._per_owner[sub.owner] = left
        else:
            del self._per_owner[sub.owner]
        self._count -= 1
        sub.close()

    def publish(self, event: LiveEvent) -> int:
        """Hand `event` to its order's streams on this replica; the number reached."""
        if event.occurred_at < self.since:
            return 0
        ring = self._recent.get(event.order_id)
        if ring is None:
            ring = self._recent[event.order_id] = deque(maxlen=self.limits.replay_events)
            while len(self._recent) > self.limits.replay_orders:
                self._recent.popitem(last=False)
        else:
            self._recent.move_to_end(event.order_id)
        if all(kept.event_id != event.event_id for kept in ring):
            ring.append(event)
        subs = self._by_order.get(event.order_id, ())
        for sub in subs:
            sub.push(event)
        return len(subs)

    def replay(self, order_id: str, last_event_id: str | None) -> list[LiveEvent] | None:
        """The events of `order_id` after `last_event_id`, or None when this replica does
        not know that id (then the stream starts from a snapshot)."""
        ring = self._recent.get(order_id)
        if not last_event_id or ring is None:
            return None
        events = list(ring)
        for i, event in enumerate(events):
            if event.event_id == last_event_id:
                return events[i + 1 :]
        return None

    def resume(self, sub: Subscription, last_event_id: str | None) -> list[LiveEvent] | None:
        """For a browser reconnecting with `last_event_id`: the events it missed, noted as
        shown on `sub`, or None when only a snapshot can bring it up to date."""
        missed = self.replay(sub.order_id, last_event_id)
        return None if missed is None else sub.fresh(missed)

    def shutdown(self) -> None:
        """End every stream (the server is stopping: browsers reconnect to another
        replica) and open no new ones."""
        self.closing = True
        for subs in list(self._by_order.values()):
            for sub in list(subs):
                sub.close()
