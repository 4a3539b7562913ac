"""Administration wire models (the `backoffice` app): the audit log (seed 004 "Audit Logs
Container") and the dead letters operators inspect, replay or discard.

The gateway sees every staff and admin request with the principal it verified, so it is
the one that records them (`GatewayAction`, sent in batches by service invocation because
the storefront publishes nothing); the backoffice turns each into an `AuditRecorded` on
`audit-events`, the single way into the log, which other apps may publish to as well.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from apps.contracts.events import EventPayload
from apps.contracts.names import Topic

Short = Annotated[str, Field(max_length=200)]
Id = Annotated[str, Field(min_length=1, max_length=200)]


class GatewayAction(BaseModel):
    """One staff or admin request as the storefront answered it: the raw facts, bounded
    (bodies are redacted and cut by the gateway; the backoffice derives entity and action)."""

    model_config = ConfigDict(extra="forbid")

    audit_id: Id = Field(description="made by the gateway, once per request")
    request_id: Id
    method: Annotated[str, Field(pattern=r"^(POST|PUT|PATCH|DELETE)$")]
    path: Annotated[str, Field(min_length=1, max_length=1000)]
    route: Annotated[str, Field(max_length=1000)] = Field(
        "", description="the matched route template, e.g. /api/staff/orders/{order_id}"
    )
    path_params: dict[Short, Short] = Field(default_factory=dict, max_length=10)
    status: int = Field(ge=100, le=599)
    actor_id: Id
    actor_role: Annotated[str, Field(max_length=20)]
    actor_email: Short | None = None
    request_body: dict[str, Any] = Field(default_factory=dict)
    response_body: dict[str, Any] = Field(default_factory=dict)
    ip_address: Annotated[str, Field(max_length=64)] = ""
    user_agent: Annotated[str, Field(max_length=300)] = ""
    at: datetime


class GatewayActions(BaseModel):
    """`POST /audit/gateway-actions` (storefront → backoffice)."""

    model_config = ConfigDict(extra="forbid")

    actions: list[GatewayAction] = Field(min_length=1, max_length=200)


class AuditEntry(BaseModel):
    """One line of the audit log, in seed 004's shape (plus the request id and outcome)."""

    id: Id
    audit_id: Id
    entity_type: Short
    entity_id: Short | None = None
    action: Short
    actor_id: Id
    actor_type: Short
    actor_email: Short | None = None
    changes: dict[str, Any] = Field(
        default_factory=dict,
        description="what was asked (`requested`) and what came back (`result`); "
        "`{field: {before, after}}` where the acting app knows the value before",
    )
    metadata: dict[str, Any] = Field(default_factory=dict)
    request_id: Short | None = None
    status: int | None = Field(None, description="the HTTP status the action was answered with")
    source: Short = Field(description="who recorded it: the gateway or the acting app")
    timestamp: datetime


class AuditRecorded(EventPayload):
    """An audit entry on its way into the log (event id = audit id: stored once)."""

    TOPIC = Topic.AUDIT_EVENTS

    entry: AuditEntry


class AuditPage(BaseModel):
    items: list[AuditEntry]
    total: int
    page: int
    limit: int


# -- dead letters ---------------------------------------------------------------------------
class DeadLetterStatus(StrEnum):
    OPEN = "open"  # waiting for an operator
    REPLAYED = "replayed"  # redelivered and accepted by every consumer it was sent to


class ReplayOutcome(BaseModel):
    app_id: str
    route: str
    status: str = Field(description="SUCCESS, RETRY, DROP or the HTTP error the app answered")


class DeadLetter(BaseModel):
    """A message that a consumer dropped or gave up on, as it reached `dead-letter-events`
    (the original CloudEvent, kept whole so it can be delivered again)."""

    dead_letter_id: Id = Field(description="the CloudEvent id (deduplicated by it)")
    topic: Short = Field(description="the topic it was published on")
    pubsub: Short
    source: Short | None = Field(None, description="the app that published it")
    failed_by: Short | None = Field(
        None, description="the consumer that gave up on it, where the message says"
    )
    event_type: Short | None = None
    event_id: Short | None = None
    replayable: bool
    status: DeadLetterStatus = DeadLetterStatus.OPEN
    count: int = Field(1, ge=1, description="deliveries to the dead-letter topic")
    first_seen: datetime
    last_seen: datetime
    replayed_at: datetime | None = None
    last_replay: list[ReplayOutcome] = Field(default_factory=list)
    cloud_event: dict[str, Any]


class DeadLetterPage(BaseModel):
    items: list[DeadLetter]
    total: int
    page: int
    limit: int


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    app_id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,40}$")] | None = Field(
        None, description="only this consumer (default: every consumer of the topic)"
    )


class ReplayResult(BaseModel):
    dead_letter: DeadLetter
    outcomes: list[ReplayOutcome]
    resolved: bool
