"""An outbox inside the document it belongs to: events describe committed state only.

A document that publishes keeps `outbox` (a list of `{"topic", "event"}` entries, the
format of catalog's outbox documents) and `outbox_state` ("pending" / "clear", a string the
state query API can filter on). The change and its events are one ETag-guarded write; the
relay publishes the entries after it and removes those that went out by compare-and-set,
so events recorded meanwhile stay. What a crash or a broker outage leaves is published by
the sweep. Event ids are fixed when the event is recorded, so a second publish of one
entry carries the same id and consumers drop it: at least once, never lost.
"""

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from apps.contracts.events import EventEnvelope, topic_of, utcnow

log = structlog.stdlib.get_logger("platform.outbox")


class Publisher(Protocol):
    async def publish(self, topic: str, event: EventEnvelope) -> None: ...


class Documents(Protocol):
    """What the relay needs of `JsonStateStore`."""

    async def get(self, key: str) -> Any: ...

    async def compare_and_set(self, key: str, decide: Any, attempts: int = 20) -> bool: ...

    async def scan(self, filter_: dict[str, Any], order_by: str) -> list[Any]: ...


def outbox_entry(event: EventEnvelope) -> dict[str, Any]:
    return {"topic": topic_of(event), "event": event.model_dump(mode="json")}


def without(doc: dict[str, Any], published: set[str]) -> dict[str, Any] | None:
    """`doc` with the entries of `published` event ids removed (None: none of them left)."""
    outbox = doc.get("outbox") or []
    rest = [e for e in outbox if e["event"]["event_id"] not in published]
    if len(rest) == len(outbox):
        return None
    return {**doc, "outbox": rest, "outbox_state": "pending" if rest else "clear"}


class InlineOutbox:
    def __init__(self, store: Documents, publisher: Publisher) -> None:
        self.store = store
        self.publisher = publisher

    async def relay(self, key: str) -> int:
        """Publish the pending entries of `key` in order, then remove them; on a failed
        publish the rest stay for the sweep. The number published."""
        found = await self.store.get(key)
        if found is None:
            return 0
        published: set[str] = set()
        for entry in found.value.get("outbox") or []:
            envelope = EventEnvelope.model_validate(entry["event"])
            try:
                await self.publisher.publish(entry["topic"], envelope)
            except Exception as exc:  # the sidecar or broker is away: the sweep retries
                log.warning(
                    "publish failed; kept in the outbox",
                    key=key,
                    event_id=envelope.event_id,
                    error=str(exc),
                )
                break
            published.add(envelope.event_id)
        if published:
            await self.store.compare_and_set(
                key, lambda raw: without(raw, published) if raw else None
            )
        return len(published)

    async def sweep(
        self,
        filter_: dict[str, Any],
        order_by: str,
        key_of: Callable[[dict[str, Any]], str],
        grace: timedelta,
    ) -> int:
        """Relay every document matching `filter_` whose oldest pending event is older than
        `grace` (younger ones are being relayed by the request that wrote them). `key_of`
        gives a found document's key."""
        cutoff = utcnow() - grace
        relayed = 0
        for doc in await self.store.scan(filter_, order_by):
            outbox = doc.value.get("outbox") or []
            if outbox and datetime.fromisoformat(outbox[0]["event"]["occurred_at"]) < cutoff:
                relayed += await self.relay(key_of(doc.value))
        return relayed

    async def sweep_forever(
        self,
        every_seconds: float,
        filter_: dict[str, Any],
        order_by: str,
        key_of: Callable[[dict[str, Any]], str],
        grace: timedelta,
    ) -> None:
        while True:
            await asyncio.sleep(every_seconds)
            try:
                if count := await self.sweep(filter_, order_by, key_of, grace):
                    log.info("outbox sweep published leftovers", events=count)
            except Exception as exc:
                log.warning("outbox sweep failed", error=str(exc))
