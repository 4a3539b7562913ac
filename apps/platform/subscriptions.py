"""Inbound pub/sub: unwrap the CloudEvent into our envelope and answer Dapr's statuses.

SUCCESS when handled (or not ours to handle), RETRY on a transient failure (Dapr
redelivers, then dead-letters after the resiliency policy's retries), DROP for a poison
message that can never be handled (it goes to the dead-letter topic, not a hot loop).
"""

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from dapr.ext.fastapi import DaprApp
from pydantic import ValidationError

from apps.contracts.errors import DomainError
from apps.contracts.events import EventEnvelope
from apps.contracts.names import Topic

log = structlog.stdlib.get_logger("subscriptions")

SUCCESS = {"status": "SUCCESS"}
RETRY = {"status": "RETRY"}
DROP = {"status": "DROP"}

Handler = Callable[[EventEnvelope], Awaitable[None]]


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


def subscribe(app: Any, topic: str, route: str, endpoint: Callable[..., Any], pubsub: str) -> None:
    """Register `endpoint` for `topic` with Dapr (programmatic subscription), poison messages
    to the dead-letter topic."""
    # One DaprApp per app: each instance registers its own `/dapr/subscribe` route and only
    # the first answers, so a second instance's topics would be silently lost.
    dapr_app = getattr(app.state, "dapr_app", None)
    if dapr_app is None:
        dapr_app = app.state.dapr_app = DaprApp(app)
    dapr_app.subscribe(
        pubsub=pubsub, topic=topic, route=route, dead_letter_topic=Topic.DEAD_LETTER
    )(endpoint)
