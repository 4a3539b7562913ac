"""Inbound pub/sub: unwrap the CloudEvent into our envelope and answer Dapr's statuses.

SUCCESS when handled (or not ours to handle), RETRY on a transient failure (Dapr
redelivers, then dead-letters after the resiliency policy's retries), DROP for a poison
message that can never be handled (it goes to the dead-letter topic, not a hot loop).
"""

import json
import os
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from typing import Any

import structlog
from dapr.ext.fastapi import DaprApp
from pydantic import ValidationError
from starlette.responses import JSONResponse

from apps.contracts.errors import DomainError
from apps.contracts.events import EventEnvelope
from apps.contracts.names import Topic
from apps.platform.context import carries_app_token
from apps.platform.http import replaying

log = structlog.stdlib.get_logger("subscriptions")

SUCCESS = {"status": "SUCCESS"}
RETRY = {"status": "RETRY"}
DROP = {"status": "DROP"}

Handler = Callable[[EventEnvelope], Awaitable[None]]

#: Set by `IgnoredEventFastPath` for a delivery: records the event types that the app's
#: route it came in on handles, which `dispatch` reports.
_LEARN: ContextVar[Callable[[Iterable[str]], None] | None] = ContextVar(
    "subscription_learn", default=None
)


async def dispatch(cloud_event: dict[str, Any], handlers: dict[str, Handler]) -> dict[str, str]:
    data = cloud_event.get("data")
    try:
        envelope = EventEnvelope.model_validate(data)
    except ValidationError as exc:
        log.error(
            "poison message dropped",
            cloudevent_id=cloud_event.get("id"),
            errors=exc.errors(include_url=False)[:3],
        )
        return DROP
    learn = _LEARN.get()
    if learn is not None:  # what this route handles, for IgnoredEventFastPath
        learn(handlers)
    handler = handlers.get(envelope.event_type)
    if handler is None:
        return SUCCESS
    structlog.contextvars.bind_contextvars(
        correlation_id=envelope.correlation_id, event_id=envelope.event_id
    )
    try:
        await handler(envelope)
    except (ValidationError, DomainError) as exc:
        log.error(
            "event cannot be handled; dropped", event_type=envelope.event_type, error=str(exc)
        )
        return DROP
    except Exception:
        log.exception("event handling failed; will retry", event_type=envelope.event_type)
        return RETRY
    finally:
        structlog.contextvars.unbind_contextvars("event_id")
    return SUCCESS


class IgnoredEventFastPath:
    """Answers SUCCESS at once to a delivery whose event type its route does not handle.

    A topic's every event reaches every subscriber (order-events has eight), and most
    subscribers handle a few of its types: an ignored delivery took the whole request stack
    (context, token check, routing, body model, envelope validation) to end in `dispatch`'s
    "not ours" SUCCESS, ~2 CPU-ms each and ~22 per checkout. Here it costs one JSON parse.

    Only for routes registered by `subscribe`, only once `dispatch` has handled a delivery
    on the route (so the route's handled types are known), only from this app's own sidecar
    (the app API token, as `AppTokenMiddleware` checks), and only when the body's
    `data.event_type` is a string; anything else (a body that is not a CloudEvent with an
    envelope) takes the full path and gets `dispatch`'s answer, DROP for poison. A delivery
    of an ignored type is not validated further: nothing in this app would read it.
    Learned per app instance: each app's middleware keeps its own routes' types."""

    def __init__(self, app: Any, routes: set[str]) -> None:
        self.app = app
        self.routes = routes
        #: The event types each route's `dispatch` handles, once it has run there.
        self.handled: dict[str, set[str]] = {}
        token = os.environ.get("APP_API_TOKEN")
        self.token = token.encode() if token else None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path") if scope["type"] == "http" else None
        if path not in self.routes or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        handled = self.handled.get(path)
        if handled is None or (self.token is not None and not carries_app_token(scope, self.token)):
            await self._full_path(path, scope, receive, send)
            return
        chunks: list[bytes] = []
        messages: list[Any] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        event_type = _event_type(b"".join(chunks))
        if event_type is not None and event_type not in handled:
            await JSONResponse(SUCCESS)(scope, receive, send)
            return
        await self._full_path(path, scope, replaying(messages, receive), send)

    async def _full_path(self, path: str, scope: Any, receive: Any, send: Any) -> None:
        def learn(types: Iterable[str]) -> None:
            self.handled.setdefault(path, set()).update(types)

        token = _LEARN.set(learn)
        try:
            await self.app(scope, receive, send)
        finally:
            _LEARN.reset(token)


def _event_type(body: bytes) -> str | None:
    """The `data.event_type` of a CloudEvent body when it is a string, else None."""
    try:
        data = json.loads(body).get("data")
    except (ValueError, AttributeError):
        return None
    event_type = data.get("event_type") if isinstance(data, dict) else None
    return event_type if isinstance(event_type, str) else None


def subscribe(app: Any, topic: str, route: str, endpoint: Callable[..., Any], pubsub: str) -> None:
    """Register `endpoint` for `topic` with Dapr (programmatic subscription), poison messages
    to the dead-letter topic; deliveries of event types the route does not handle are
    answered by `IgnoredEventFastPath`."""
    # One DaprApp per app: each instance registers its own `/dapr/subscribe` route and only
    # the first answers, so a second instance's topics would be silently lost.
    dapr_app = getattr(app.state, "dapr_app", None)
    if dapr_app is None:
        dapr_app = app.state.dapr_app = DaprApp(app)
        app.state.event_routes = set()
        app.add_middleware(IgnoredEventFastPath, routes=app.state.event_routes)
    app.state.event_routes.add(route)
    dapr_app.subscribe(
        pubsub=pubsub, topic=topic, route=route, dead_letter_topic=Topic.DEAD_LETTER
    )(endpoint)
