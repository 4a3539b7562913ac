"""An outbox in actor state, shared by the actors: events describe committed state only.

A change and the events it causes are saved in one actor-state transaction, then the
events are published; one whose publish failed stays in the outbox and the `outbox`
reminder retries it. Event ids are deterministic, so consumers deduplicate a re-publish.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, Protocol

import structlog
from dapr.actor import Actor
from pydantic import TypeAdapter

from apps.contracts.events import EventEnvelope, topic_of

log = structlog.stdlib.get_logger("actors.outbox")

OUTBOX_KEY = "outbox"
OUTBOX_REMINDER = "outbox"
OUTBOX_RETRY = timedelta(seconds=5)

_outbox_adapter = TypeAdapter(list[EventEnvelope])


class Publisher(Protocol):
    async def publish(self, topic: str, event: EventEnvelope) -> None: ...


class OutboxActor(Actor):
    """Base of actors that publish: `_save(...)` then `_flush_outbox(...)`.

    While an instance is active it is the only writer of its state (turn-based), so once it
    has seen its outbox empty it remembers that instead of asking the store again before each
    save (the state manager caches what it read, not what it found missing): one state read
    fewer per change. A new activation, or a failed step, starts from the store again."""

    _outbox_empty = False

    async def _save(
        self,
        values: dict[str, Any],
        events: list[EventEnvelope],
        removed: tuple[str, ...] = (),
    ) -> None:
        """Set `values`, remove `removed` and append `events` to the outbox: one transaction."""
        async with self._all_or_nothing():
            for key, value in values.items():
                await self._state_manager.set_state(key, value)
            for key in removed:
                await self._state_manager.try_remove_state(key)
            if events:
                outbox = [*await self._outbox(), *events]
                await self._state_manager.set_state(
                    OUTBOX_KEY, _outbox_adapter.dump_python(outbox, mode="json")
                )
                self._outbox_empty = False
            await self._state_manager.save_state()

    async def _flush_outbox(self, publisher: Publisher) -> None:
        async with self._all_or_nothing():
            await self._flush(publisher)

    async def _retry_outbox(self, publisher: Publisher) -> None:
        """The outbox reminder: publish what is left; once nothing is, the reminder goes.
        (Only this path unregisters it: a flush after a save does not pay a call to the
        scheduler for a reminder that almost never exists; one that does fires once more,
        finds the outbox empty and is removed here.)"""
        async with self._all_or_nothing():
            drained = await self._flush(publisher)
        if drained:
            await self._try_unregister(OUTBOX_REMINDER)

    async def _flush(self, publisher: Publisher) -> bool:
        """Publish the outbox in order; True when nothing is left in it."""
        pending = await self._outbox()
        if not pending:
            return True
        sent = 0
        for envelope in pending:
            try:
                await publisher.publish(topic_of(envelope), envelope)
            except Exception as exc:  # the broker is down: keep it, retry by reminder
                log.warning(
                    "publish failed; kept in outbox", event_id=envelope.event_id, error=str(exc)
                )
                await self.register_reminder(OUTBOX_REMINDER, b"outbox", OUTBOX_RETRY, OUTBOX_RETRY)
                break
            sent += 1
        remaining = pending[sent:]
        if remaining:
            await self._state_manager.set_state(
                OUTBOX_KEY, _outbox_adapter.dump_python(remaining, mode="json")
            )
        else:
            await self._state_manager.try_remove_state(OUTBOX_KEY)
        await self._state_manager.save_state()
        self._outbox_empty = not remaining
        return not remaining

    @asynccontextmanager
    async def _all_or_nothing(self) -> AsyncIterator[None]:
        """What a failed step staged is forgotten, not saved later. The SDK empties an actor's
        state cache after a failed call only when the sidecar answered with an error; after a
        transport failure (the sidecar went away mid-call) the changes staged so far stay and
        the actor's next call, even a read, saves them: an order without its OrderCreated in
        the outbox (found by ./taskw chaos). Emptied, the next call reads the store."""
        try:
            yield
        except BaseException:
            self._outbox_empty = False
            await self._state_manager.clear_cache()
            raise

    async def _outbox(self) -> list[EventEnvelope]:
        if self._outbox_empty:
            return []
        found, raw = await self._state_manager.try_get_state(OUTBOX_KEY)
        if not found:
            self._outbox_empty = True
            return []
        return _outbox_adapter.validate_python(raw)

    async def _try_unregister(self, name: str) -> None:
        try:
            await self.unregister_reminder(name)
        except Exception as exc:  # absent reminders are fine; log anything else
            log.debug("unregister reminder", name=name, error=str(exc))
