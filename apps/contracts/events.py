"""The event envelope every topic carries, and the typed payloads of the events.

Dapr wraps the envelope in a CloudEvent; `event_id` is also the CloudEvent id, so a
consumer can deduplicate on either. Consumers are idempotent: delivery is at-least-once.
"""

from datetime import UTC, datetime
from typing import Any, ClassVar, Self
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field

from apps.contracts.names import Topic


def utcnow() -> datetime:
    return datetime.now(UTC)


class EventEnvelope(BaseModel):
    """SPEC "Events": id, type, version, time, correlation id and the payload."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(default_factory=lambda: str(uuid4()), min_length=1, max_length=200)
    event_type: str = Field(min_length=1, max_length=100, examples=["OrderCreated"])
    event_version: int = Field(default=1, ge=1)
    occurred_at: datetime = Field(default_factory=utcnow)
    correlation_id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=100, description="app-id that published it")
    data: dict[str, Any]

    @classmethod
    def of(
        cls,
        payload: "EventPayload",
        *,
        correlation_id: str,
        source: str,
        event_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> Self:
        """Wrap a typed payload; a deterministic `event_id` makes re-publishing idempotent."""
        return cls(
            event_id=event_id or str(uuid4()),
            event_type=payload.EVENT_TYPE,
            event_version=payload.EVENT_VERSION,
            occurred_at=occurred_at or utcnow(),
            correlation_id=correlation_id,
            source=source,
            data=payload.model_dump(mode="json"),
        )


class EventPayload(BaseModel):
    """Base of typed event payloads: each names its type, version and topic."""

    model_config = ConfigDict(extra="forbid")

    EVENT_TYPE: ClassVar[str] = ""
    EVENT_VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[Topic]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "EVENT_TYPE" not in cls.__dict__:
            cls.EVENT_TYPE = cls.__name__
        if hasattr(cls, "TOPIC"):
            _REGISTRY[cls.EVENT_TYPE] = cls


_REGISTRY: dict[str, type[EventPayload]] = {}


def topic_of(envelope: EventEnvelope) -> str:
    """The topic an event type is published on (from its payload class)."""
    return _REGISTRY[envelope.event_type].TOPIC.value
