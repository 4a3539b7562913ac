"""`GET /api/orders/{id}/events`: an order's status and shipment progress as Server-Sent
Events, and the subscriptions that feed them.

Access is the order's own (apps/storefront/orders_api.py): checked once, when the stream
opens, by asking `orders` for the order with the owner's parameters; a stranger gets the
404 of a missing order and no stream. The stream then carries only this order's events.

Every replica receives every order and shipping event through `pubsub-broadcast` (a
consumer group / Service Bus subscription per sidecar), because a browser's stream lives
on one replica and a normal `pubsub` subscription would hand each event to one replica
only. The handlers below never fail an event: a live view that misses one re-syncs from a
snapshot, so nothing is retried or dead-lettered (the storefront publishes nothing).

Frames: `snapshot` (the order's status and version with its tracking), then `order` and
`shipment` events (`id:` = the event id, so a reconnect with `Last-Event-ID` replays what
this replica still holds), `: keep-alive` comments, `resync` when the reader fell behind
(reconnect for a fresh snapshot), `end` when the order reaches a status after which nothing
moves on its own. The stream also closes after `live_max_seconds` or at shutdown without
`end`, so an EventSource reconnects by itself.
"""

import asyncio
import hmac
import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Body, FastAPI, Header, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError

from apps.contracts.errors import Unauthorized
from apps.contracts.events import EventEnvelope
from apps.contracts.names import AppId, Component, Topic
from apps.contracts.orders import Order, Tracking
from apps.platform.context import APP_TOKEN_HEADER
from apps.platform.dapr import InvokeResult, Sidecar
from apps.platform.shutdown import on_shutdown_signal
from apps.platform.subscriptions import SUCCESS, subscribe
from apps.storefront.adapters import outgoing_headers, to_response
from apps.storefront.auth import Caller
from apps.storefront.live import Limits, LiveHub, Subscription
from apps.storefront.live_events import (
    END_STATUSES,
    KEEPALIVE,
    ORDER_KEY,
    LiveEvent,
    event_frame,
    frame,
    live_event,
)
from apps.storefront.openapi import ERRORS
from apps.storefront.orders_api import Email, OrderId, owner_params
from apps.storefront.settings import StorefrontSettings

log = structlog.stdlib.get_logger("storefront.live")

router = APIRouter(prefix="/api", responses=ERRORS)

#: How long a browser waits before reconnecting (the SSE `retry:` field), in ms.
RETRY_MS = 3000
STREAM_HEADERS = {
    "Cache-Control": "no-store, no-transform",
    "X-Accel-Buffering": "no",  # a proxy in front must pass each frame on at once
}
LastEventId = Annotated[str | None, Header(alias="Last-Event-ID", max_length=200)]


def start_live(app: FastAPI, settings: StorefrontSettings) -> LiveHub:
    """The replica's hub (lifespan), and the shutdown hook that ends its streams: uvicorn
    waits for open responses before it stops, and a stream would hold it for up to
    `live_max_seconds`. SIGTERM/SIGINT first end the streams (the browsers reconnect to
    another replica), then reach uvicorn's own handler."""
    hub = LiveHub(
        Limits(
            max_streams=settings.live_max_streams,
            max_per_owner=settings.live_max_streams_per_user,
            queue_size=settings.live_queue_size,
        ),
        since=datetime.now(UTC),
    )
    app.state.live = hub
    on_shutdown_signal(hub.shutdown)
    return hub


@router.get(
    "/orders/{order_id}/events",
    tags=["orders"],
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "Server-Sent Events: `snapshot`, then `order` and `shipment` "
            "events, `resync` or `end`; `: keep-alive` comments between them",
        },
        429: {"description": "Too many live streams on this server or for this customer"},
    },
)
async def order_events(
    order_id: OrderId,
    request: Request,
    caller: Caller,
    email: Email = None,
    last_event_id: LastEventId = None,
) -> Response:
    """The order's progress as it happens, for the same callers as `GET /api/orders/{id}`
    (guests add the order's `email`). Browsers: `new EventSource(url)` for guests; a
    signed-in customer's token needs a fetch-based reader (EventSource sends no headers).
    A reconnect with `Last-Event-ID` gets the events it missed when this replica still
    holds them, else a new snapshot."""
    hub: LiveHub = request.app.state.live
    settings: StorefrontSettings = request.app.state.settings
    owner = f"user:{caller.user_id}" if caller.signed_in else f"guest:{(email or '').lower()}"
    # Subscribed before the order is read, so nothing committed after the read is missed
    # (what arrives meanwhile and is not newer than the read is dropped by version).
    sub = hub.open(order_id, owner)
    try:
        params = owner_params(caller, email)
        order_reply, tracking_reply = await asyncio.gather(
            _orders(request, f"orders/{order_id}", params),
            _orders(request, f"orders/{order_id}/tracking", params),
        )
        for reply in (order_reply, tracking_reply):
            if not reply.ok:  # a stranger's 404, or orders being away
                hub.leave(sub)
                return to_response(request, reply)
        order = Order.model_validate(order_reply.body)
        tracking = Tracking.model_validate(tracking_reply.body)
    except BaseException:
        hub.leave(sub)
        raise
    opening = _opening(hub, sub, order, tracking, last_event_id)
    deadline = time.monotonic() + settings.live_max_seconds
    return StreamingResponse(
        _stream(hub, sub, opening, deadline, settings.live_keepalive_seconds),
        media_type="text/event-stream",
        headers=STREAM_HEADERS,
    )


async def _orders(request: Request, path: str, params: dict[str, Any]) -> InvokeResult:
    sidecar: Sidecar = request.app.state.sidecar
    return await sidecar.invoke(
        AppId.ORDERS, path, params=params, headers=await outgoing_headers(request)
    )


def _opening(
    hub: LiveHub, sub: Subscription, order: Order, tracking: Tracking, last_event_id: str | None
) -> tuple[list[bytes], bool]:
    """What a stream starts with, and whether that already ends it: the events missed since
    `last_event_id` when this replica holds them, and a snapshot when those do not bring the
    browser up to the order as read."""
    frames = [f"retry: {RETRY_MS}\n\n".encode()]
    missed = hub.resume(sub, last_event_id)
    for event in missed or ():
        frames.append(event_frame(event))
        if event.ends:
            return [*frames, _end(event.data["status"])], True
    if missed is None or sub.version(ORDER_KEY) < order.version:
        snapshot = tracking.model_dump(mode="json")
        snapshot.update(status=order.status.value, version=order.version)
        sub.seen(ORDER_KEY, order.version)
        frames.append(frame("snapshot", snapshot))
        if order.status in END_STATUSES:
            return [*frames, _end(order.status.value)], True
    return frames, False


def _end(status: str) -> bytes:
    return frame("end", {"status": status})


async def _stream(
    hub: LiveHub,
    sub: Subscription,
    opening: tuple[list[bytes], bool],
    deadline: float,
    keepalive: float,
) -> AsyncIterator[bytes]:
    try:
        frames, ended = opening
        for chunk in frames:
            yield chunk
        if ended:
            return
        while not hub.closing:
            left = deadline - time.monotonic()
            if left <= 0:
                return  # the browser reconnects (Last-Event-ID) on a fresh stream
            batch: list[LiveEvent] = await sub.next(min(keepalive, left))
            if sub.overflowed:
                yield frame("resync", {"reason": "too many events queued; reconnect"})
                return
            if not batch:
                if not sub.closed:
                    yield KEEPALIVE
                continue
            for event in batch:
                yield event_frame(event)
                if event.ends:
                    yield _end(event.data["status"])
                    return
    finally:
        hub.leave(sub)


# -- the events that feed the streams ----------------------------------------------------
def _from_sidecar(request: Request) -> None:
    """The storefront is reachable from the internet, so its event routes check that the
    call comes from its own sidecar: the app API token when daprd has one (locally and in
    the tests), else a loopback peer (Azure: daprd runs in the replica, the ingress does
    not). A forged event could otherwise show a customer a false status."""
    token = os.environ.get("APP_API_TOKEN")
    if token:
        sent = request.headers.get(APP_TOKEN_HEADER, "")
        if hmac.compare_digest(sent.encode(), token.encode()):
            return
    elif request.client is not None and request.client.host in ("127.0.0.1", "::1"):
        return
    raise Unauthorized("Only this app's Dapr sidecar may deliver events")


async def on_live_event(
    request: Request, cloud_event: dict[str, Any] = Body(...)
) -> dict[str, str]:
    _from_sidecar(request)
    hub: LiveHub = request.app.state.live
    try:
        event = live_event(EventEnvelope.model_validate(cloud_event.get("data")))
    except ValidationError as exc:
        log.warning("live event skipped", errors=exc.errors(include_url=False)[:3])
        return SUCCESS
    if event is not None:
        hub.publish(event)
    return SUCCESS


def subscribe_live(app: FastAPI) -> None:
    for topic in (Topic.ORDER_EVENTS, Topic.SHIPPING_EVENTS):
        subscribe(app, topic, f"/events/live/{topic}", on_live_event, Component.PUBSUB_BROADCAST)
