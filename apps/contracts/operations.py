"""The operations API (seed 004 "Admin"): every app's health, what its Dapr sidecar reports,
its outbox backlog, recent logs and a restart. Built on Dapr's own APIs (`/v1.0/metadata`,
service invocation) and the apps' endpoints, so it answers the same locally and on Azure
Container Apps."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from apps.contracts.names import AppId

AppStatus = Literal["up", "degraded", "down"]
LogSource = Literal["app", "daprd"]
#: Most log lines one request returns.
MAX_LOG_LINES = 1000


class ServiceHealth(BaseModel):
    """One app: live (the process answers) and ready (sidecar, components, stores)."""

    app_id: AppId
    status: AppStatus  # up: live and ready; degraded: live, not ready; down: not answering
    live: bool
    ready: bool
    problems: list[str] = Field(default_factory=list)
    #: What a ready app adds (e.g. the model version an ML app serves).
    details: dict[str, str] = Field(default_factory=dict)
    latency_ms: float


class HealthReport(BaseModel):
    status: Literal["ok", "degraded"]
    checked_at: datetime
    apps: list[ServiceHealth]


class ComponentInfo(BaseModel):
    name: str
    type: str
    version: str = ""
    capabilities: list[str] = Field(default_factory=list)


class ActorTypeCount(BaseModel):
    """An actor type this sidecar hosts and how many of its actors are active here."""

    type: str
    count: int


class SubscriptionInfo(BaseModel):
    pubsub_name: str
    topic: str
    routes: list[str] = Field(default_factory=list)
    dead_letter_topic: str | None = None
    type: str = ""


class AppConnection(BaseModel):
    """How the sidecar reaches its app (`appConnectionProperties`)."""

    port: int | None = None
    protocol: str = ""
    channel_address: str = ""
    max_concurrency: int | None = None
    health_check_path: str | None = None
    health_probe_interval: str | None = None
    health_threshold: int | None = None


class SidecarMetadata(BaseModel):
    """An app's sidecar, as its `GET /v1.0/metadata` answers."""

    app_id: str
    runtime_version: str
    enabled_features: list[str] = Field(default_factory=list)
    components: list[ComponentInfo] = Field(default_factory=list)
    actors: list[ActorTypeCount] = Field(default_factory=list)
    #: The actor runtime's status ("RUNNING", "DISABLED", ...) and placement connection.
    actor_runtime_status: str | None = None
    placement: str | None = None
    subscriptions: list[SubscriptionInfo] = Field(default_factory=list)
    app_connection: AppConnection | None = None


class OutboxBacklog(BaseModel):
    """Events recorded but not yet published, in an app's document outboxes (the ones its
    sweep relays). Actor outboxes live in each actor's state and are not counted here."""

    pending_documents: int = Field(ge=0)
    pending_events: int = Field(ge=0)
    oldest_pending_at: datetime | None = None
    #: The outboxes counted (e.g. "users", "products").
    outboxes: list[str] = Field(default_factory=list)


class ServiceInfo(BaseModel):
    app_id: AppId
    status: AppStatus
    error: str | None = None
    sidecar: SidecarMetadata | None = None
    #: None: the app keeps no document outbox (or did not answer).
    outbox: OutboxBacklog | None = None


class ServicesReport(BaseModel):
    checked_at: datetime
    apps: list[ServiceInfo]


class LogLines(BaseModel):
    """The last lines of one app's (or its sidecar's) log, oldest first."""

    app_id: AppId
    source: LogSource
    #: Where they were read: the log file's name locally, "log-analytics" on Azure.
    origin: str
    lines: list[str]


class RestartAccepted(BaseModel):
    """A restart was started; the app is back when its health says so."""

    app_id: AppId
    mechanism: Literal["process", "container-apps-revision"]
    target: str  # the process id, or the revision restarted
    requested_at: datetime


class OpsRestart(BaseModel):
    """An app's own answer to `/ops/restart`."""

    pid: int
    requested_at: datetime
