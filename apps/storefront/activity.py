"""Shopper activity for the conversion funnel: the steps the storefront sees itself (a cart
add that the cart accepted, a checkout the saga accepted) and those a shop client reports
(`POST /api/activity`: product views), held in memory and handed to backoffice in batches.

The storefront publishes nothing to pub/sub (its publishing scope is empty by design), so
activity is buffered here and handed to backoffice by service invocation every
`FLUSH_SECONDS`. What is lost on a crash is bounded: the events of at most one flush interval
plus one batch not yet acknowledged (at most `MAX_BUFFERED` events). A batch keeps its id
until backoffice acknowledges it, so a retry is counted once.

Cart adds and checkout starts are recorded here, on the server, when the cart or the saga
accepted them, so the funnel does not depend on a client remembering to report them (a
client that reports them as well changes nothing: the funnel counts sessions per step).
"""

import asyncio
import uuid
from datetime import UTC, datetime

import structlog
from fastapi import Request

from apps.contracts.analytics import MAX_BATCH_EVENTS, ActivityBatch, ActivityEvent, ActivityKind
from apps.contracts.identity import Principal
from apps.contracts.names import AppId
from apps.platform.dapr import Sidecar

log = structlog.stdlib.get_logger("activity")

FLUSH_SECONDS = 5.0
#: Events held at most; beyond this new ones are dropped (and counted) until a flush.
MAX_BUFFERED = 20_000


def funnel_session(principal: Principal, guest_session: str | None) -> str | None:
    """Whose steps these are: `u:{user}` when signed in, `g:{guest session}` for a guest
    (None: a guest without a session yet)."""
    if principal.signed_in:
        return f"u:{principal.user_id}"
    return f"g:{guest_session}" if guest_session else None


def record_step(
    request: Request, session: str | None, kind: ActivityKind, product_id: str | None = None
) -> None:
    """One step the storefront saw succeed, counted for `session` (nothing without one)."""
    if session is None:
        return
    step = ActivityEvent(session=session, kind=kind, product_id=product_id, at=datetime.now(UTC))
    activity_buffer(request).add([step])


class ActivityBuffer:
    """Shopper steps held in memory and flushed to backoffice by a task started on first
    use (so nothing runs at import time)."""

    def __init__(self, sidecar: Sidecar) -> None:
        self.sidecar = sidecar
        self.events: list[ActivityEvent] = []
        self.unacked: ActivityBatch | None = None
        self.dropped = 0
        self.task: asyncio.Task[None] | None = None

    def add(self, events: list[ActivityEvent]) -> int:
        room = MAX_BUFFERED - len(self.events)
        taken = events[: max(room, 0)]
        self.dropped += len(events) - len(taken)
        self.events.extend(taken)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run())
        return len(taken)

    async def _run(self) -> None:
        log.info("activity flusher started", every_seconds=FLUSH_SECONDS)
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            try:
                await self.flush()
            except Exception:
                log.exception("activity flush failed; the batch is kept and retried")

    async def flush(self) -> None:
        while self.unacked is not None or self.events:
            if self.unacked is None:
                taken, self.events = (
                    self.events[:MAX_BATCH_EVENTS],
                    self.events[MAX_BATCH_EVENTS:],
                )
                self.unacked = ActivityBatch(batch_id=f"act-{uuid.uuid4().hex}", events=taken)
            result = await self.sidecar.invoke(
                AppId.BACKOFFICE,
                "activity",
                method="POST",
                json_body=self.unacked.model_dump(mode="json"),
            )
            if not result.ok:
                log.warning("activity batch refused; kept for the next flush", status=result.status)
                return
            log.info("activity batch handed over", events=len(self.unacked.events))
            self.unacked = None
        if self.dropped:
            log.warning("activity dropped: buffer full", events=self.dropped)
            self.dropped = 0


def activity_buffer(request: Request) -> ActivityBuffer:
    buffer: ActivityBuffer | None = getattr(request.app.state, "activity", None)
    if buffer is None:
        buffer = request.app.state.activity = ActivityBuffer(request.app.state.sidecar)
    return buffer
