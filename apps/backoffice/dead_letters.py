"""Dead letters (pure): what a message on `dead-letter-events` is, and where a replay goes.

Dapr moves a message there when a consumer answers DROP or its retries run out; it
republishes the original CloudEvent unchanged, so `topic`, `source` (the publisher) and
`id` are the original's. Each consumer that gives up on a message dead-letters it once, so
one id can arrive several times: it is kept once and counted. Which consumer gave up is
not in the message (except for what an app dead-letters itself, e.g. notifications'
`NotificationDeadLettered`, whose `source` is that app).

A replay cannot publish the message again: publishing scopes let only the owner of a topic
write it, and the backoffice owns none. It delivers the original CloudEvent to the
consumers' own event routes by service invocation (the route each app registered for that
topic, read from its `/dapr/subscribe`), as Dapr itself would. Consumers apply an event
once by its id, so sending it to a consumer that had already handled it is harmless.
"""

from datetime import datetime
from typing import Any

from apps.contracts.audit import DeadLetter, DeadLetterStatus, ReplayOutcome
from apps.contracts.names import Topic

MAX_EVENT_BYTES = 256_000


def _text(value: Any, limit: int = 200) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def from_cloud_event(cloud_event: dict[str, Any], now: datetime) -> DeadLetter | None:
    """A new dead letter from what arrived (None if it has no usable id)."""
    letter_id = _text(cloud_event.get("id"))
    if letter_id is None:
        return None
    topic = _text(cloud_event.get("topic")) or Topic.DEAD_LETTER.value
    data = cloud_event.get("data")
    envelope = data if isinstance(data, dict) else {}
    event_type = _text(envelope.get("event_type")) or _text(cloud_event.get("type"))
    own = topic == Topic.DEAD_LETTER  # an app's own report (it gave up itself)
    return DeadLetter(
        dead_letter_id=letter_id,
        topic=topic,
        pubsub=_text(cloud_event.get("pubsubname")) or "pubsub",
        source=_text(cloud_event.get("source")),
        failed_by=_text(cloud_event.get("source")) if own else None,
        event_type=event_type,
        event_id=_text(envelope.get("event_id")),
        replayable=not own,
        first_seen=now,
        last_seen=now,
        cloud_event=cloud_event,
    )


def seen_again(stored: DeadLetter, now: datetime) -> DeadLetter:
    """The same message dead-lettered again (another consumer, or a redelivery): counted;
    a replayed one that fails again is open again."""
    return stored.model_copy(
        update={
            "count": stored.count + 1,
            "last_seen": max(now, stored.last_seen),
            "status": DeadLetterStatus.OPEN,
        }
    )


def routes_for(subscriptions: Any, pubsub: str, topic: str) -> list[str]:
    """The routes an app's `/dapr/subscribe` answer gives for (pubsub, topic)."""
    found: list[str] = []
    for sub in subscriptions if isinstance(subscriptions, list) else []:
        if not isinstance(sub, dict):
            continue
        if sub.get("pubsubname") != pubsub or sub.get("topic") != topic:
            continue
        route = sub.get("route")
        if not route:
            rules = (sub.get("routes") or {}).get("default")
            route = rules
        if isinstance(route, str) and route.startswith("/"):
            found.append(route)
    return found


def outcome_status(http_status: int, body: Any) -> str:
    """What a consumer said to the redelivered message, in Dapr's terms."""
    if 200 <= http_status < 300:
        status = body.get("status") if isinstance(body, dict) else None
        return str(status).upper() if status else "SUCCESS"
    return f"HTTP {http_status}"


def after_replay(
    letter: DeadLetter, outcomes: list[ReplayOutcome], now: datetime
) -> tuple[DeadLetter, bool]:
    """Resolved when every consumer it went to accepted it; else it stays open."""
    resolved = bool(outcomes) and all(o.status == "SUCCESS" for o in outcomes)
    update: dict[str, Any] = {"last_replay": outcomes}
    if resolved:
        update |= {"status": DeadLetterStatus.REPLAYED, "replayed_at": now}
    return letter.model_copy(update=update), resolved


def select(
    letters: list[DeadLetter],
    status: DeadLetterStatus | None,
    topic: str | None,
    event_type: str | None,
    page: int,
    limit: int,
) -> tuple[list[DeadLetter], int]:
    chosen = [
        d
        for d in letters
        if (status is None or d.status == status)
        and (topic is None or d.topic == topic)
        and (event_type is None or d.event_type == event_type)
    ]
    chosen.sort(key=lambda d: (d.last_seen, d.dead_letter_id), reverse=True)
    start = (page - 1) * limit
    return chosen[start : start + limit], len(chosen)
