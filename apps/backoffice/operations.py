"""The operations API's rules and use cases: every app's health, what its sidecar reports,
its outbox backlog, its logs and a restart (seed 004 "Admin").

Pure shaping (what an answer of `/health/*`, `GET /v1.0/metadata` or `/ops/outbox` means)
and the use cases over three ports: `AppProbe` (an app's endpoints, through Dapr service
invocation), `LogReader` and `Restarter` (the run's files and processes locally, Log
Analytics and the Container Apps API on Azure; operations_adapters.py). Every app is asked
at once with a bounded wait: one that is down or slow shows as down, the others still show.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from apps.contracts.errors import NotFound
from apps.contracts.names import AppId
from apps.contracts.operations import (
    ActorTypeCount,
    AppConnection,
    AppStatus,
    ComponentInfo,
    HealthReport,
    LogLines,
    LogSource,
    OutboxBacklog,
    RestartAccepted,
    ServiceHealth,
    ServiceInfo,
    ServicesReport,
    SidecarMetadata,
    SubscriptionInfo,
)


@dataclass(frozen=True)
class Answer:
    """What an app answered (status 0: no answer within the wait)."""

    status: int
    body: Any = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class AppProbe(Protocol):
    async def call(self, app_id: str, path: str, method: str = "GET", **params: Any) -> Answer:
        """`path` on `app_id`; never raises for an app that is down (status >= 500 or 0)."""
        ...


class LogReader(Protocol):
    async def lines(self, app_id: AppId, source: LogSource, lines: int) -> LogLines: ...


class Restarter(Protocol):
    async def restart(self, app_id: AppId) -> RestartAccepted: ...


# -- shaping (pure) ----------------------------------------------------------------------
def app_named(name: str) -> AppId:
    """The app called `name`; any other name is a 404 (the list is AppId's)."""
    try:
        return AppId(name)
    except ValueError:
        raise NotFound(f"No service named {name!r}", service=name[:64]) from None


def problems_of(answer: Answer) -> list[str]:
    """The problems an app's health answer names (the standard error's details)."""
    if answer.status == 0:
        return ["no answer in time"]
    body = answer.body if isinstance(answer.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else None
    if error is None:
        return [] if answer.ok else [f"answered {answer.status}"]
    found = (error.get("details") or {}).get("problems")
    if isinstance(found, list) and found:
        return [str(p) for p in found]
    return [str(error.get("message") or f"answered {answer.status}")]


def health_of(app_id: AppId, live: Answer, ready: Answer, latency_ms: float) -> ServiceHealth:
    status: AppStatus = "up" if live.ok and ready.ok else "degraded" if live.ok else "down"
    problems = problems_of(live) + (problems_of(ready) if live.ok else [])
    details: dict[str, str] = {}
    if ready.ok and isinstance(ready.body, dict):
        details = {k: str(v) for k, v in ready.body.items() if k != "status"}
    return ServiceHealth(
        app_id=app_id,
        status=status,
        live=live.ok,
        ready=ready.ok,
        problems=problems,
        details=details,
        latency_ms=round(latency_ms, 1),
    )


def health_report(apps: list[ServiceHealth], now: datetime) -> HealthReport:
    ok = all(a.status == "up" for a in apps)
    return HealthReport(status="ok" if ok else "degraded", checked_at=now, apps=apps)


def _actor_counts(raw: dict[str, Any]) -> list[ActorTypeCount]:
    runtime = raw.get("actorRuntime") or {}
    active = runtime.get("activeActors")
    if active is None:
        active = raw.get("actors") or []  # the field daprd had before actorRuntime
    return [
        ActorTypeCount(type=str(a.get("type", "")), count=int(a.get("count") or 0))
        for a in active
        if isinstance(a, dict)
    ]


def _connection(raw: dict[str, Any]) -> AppConnection | None:
    props = raw.get("appConnectionProperties")
    if not isinstance(props, dict):
        return None
    health = props.get("health") or {}
    threshold = health.get("healthThreshold")
    return AppConnection(
        port=props.get("port"),
        protocol=str(props.get("protocol", "")),
        channel_address=str(props.get("channelAddress", "")),
        max_concurrency=props.get("maxConcurrency"),
        health_check_path=health.get("healthCheckPath"),
        health_probe_interval=health.get("healthProbeInterval"),
        health_threshold=int(threshold) if threshold is not None else None,
    )


def sidecar_metadata(raw: dict[str, Any]) -> SidecarMetadata:
    """A sidecar's `GET /v1.0/metadata` answer in the API's terms (field for field)."""
    runtime = raw.get("actorRuntime") or {}
    return SidecarMetadata(
        app_id=str(raw.get("id", "")),
        runtime_version=str(raw.get("runtimeVersion", "")),
        enabled_features=[str(f) for f in raw.get("enabledFeatures") or []],
        components=[
            ComponentInfo(
                name=str(c.get("name", "")),
                type=str(c.get("type", "")),
                version=str(c.get("version", "")),
                capabilities=[str(x) for x in c.get("capabilities") or []],
            )
            for c in raw.get("components") or []
        ],
        actors=_actor_counts(raw),
        actor_runtime_status=runtime.get("runtimeStatus"),
        placement=runtime.get("placement"),
        subscriptions=[
            SubscriptionInfo(
                pubsub_name=str(s.get("pubsubname", "")),
                topic=str(s.get("topic", "")),
                routes=[str(r.get("path", "")) for r in (s.get("rules") or []) if r],
                dead_letter_topic=s.get("deadLetterTopic") or None,
                type=str(s.get("type", "")),
            )
            for s in raw.get("subscriptions") or []
        ],
        app_connection=_connection(raw),
    )


def service_info(app_id: AppId, metadata: Answer, outbox: Answer) -> ServiceInfo:
    if not metadata.ok or not isinstance(metadata.body, dict):
        reason = "; ".join(problems_of(metadata)) or "no metadata"
        return ServiceInfo(app_id=app_id, status="down", error=reason)
    backlog = OutboxBacklog.model_validate(outbox.body) if outbox.ok and outbox.body else None
    error = None if outbox.ok else "outbox: " + "; ".join(problems_of(outbox))
    return ServiceInfo(
        app_id=app_id,
        status="up" if outbox.ok else "degraded",
        error=error,
        sidecar=sidecar_metadata(metadata.body),
        outbox=backlog,
    )


# -- use cases ---------------------------------------------------------------------------
async def within(seconds: float, call: Awaitable[Answer]) -> Answer:
    """`call`'s answer, or status 0 when it takes longer than `seconds`."""
    try:
        return await asyncio.wait_for(call, seconds)
    except TimeoutError:
        return Answer(0)


class OperationsService:
    def __init__(
        self,
        probe: AppProbe,
        logs: LogReader,
        restarter: Restarter,
        timeout_seconds: float,
        now: Callable[[], datetime],
        apps: tuple[AppId, ...] = tuple(AppId),
    ) -> None:
        self.probe = probe
        self.logs = logs
        self.restarter = restarter
        self.timeout = timeout_seconds
        self.now = now
        self.apps = apps

    async def _ask(self, app_id: AppId, path: str) -> Answer:
        return await within(self.timeout, self.probe.call(app_id, path))

    async def _health(self, app_id: AppId) -> ServiceHealth:
        started = time.perf_counter()
        live, ready = await asyncio.gather(
            self._ask(app_id, "health/live"), self._ask(app_id, "health/ready")
        )
        return health_of(app_id, live, ready, (time.perf_counter() - started) * 1000)

    async def health(self) -> HealthReport:
        apps = await asyncio.gather(*(self._health(a) for a in self.apps))
        return health_report(list(apps), self.now())

    async def _service(self, app_id: AppId) -> ServiceInfo:
        metadata, outbox = await asyncio.gather(
            self._ask(app_id, "ops/metadata"), self._ask(app_id, "ops/outbox")
        )
        return service_info(app_id, metadata, outbox)

    async def services(self) -> ServicesReport:
        apps = await asyncio.gather(*(self._service(a) for a in self.apps))
        return ServicesReport(checked_at=self.now(), apps=list(apps))

    async def recent_logs(self, name: str, source: LogSource, lines: int) -> LogLines:
        return await self.logs.lines(app_named(name), source, lines)

    async def restart(self, name: str) -> RestartAccepted:
        return await self.restarter.restart(app_named(name))
