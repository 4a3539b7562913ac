"""Where the durabletask saga engine connects (apps/checkout/engine.py): this app's sidecar
or Azure's Durable Task Scheduler, and what the scheduler needs on every call.

What durabletask-azuremanaged (1.12.0) adds to the generic durabletask client and worker is
headers: `taskhub`, `workerid` (worker), `authorization: Bearer <Entra token>` for
`https://durabletask.io`. That package cannot be installed here (it needs Microsoft's
`durabletask`, the same module name as durabletask-dapr, which dapr-ext-workflow needs), so
the same headers are set here on durabletask-dapr's client and worker, which also answer the
scheduler in its own schema (`for_scheduler`).
"""

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any

import grpc
from durabletask.aio.internal.grpc_interceptor import (
    DefaultClientInterceptorImpl as AsyncHeaders,
)
from durabletask.internal import orchestrator_service_pb2 as pb
from durabletask.internal.grpc_interceptor import (
    DefaultClientInterceptorImpl as Headers,
)
from durabletask.internal.grpc_interceptor import _ClientCallDetails

from apps.checkout.settings import CheckoutSettings

#: The Durable Task Scheduler's token audience (durabletask-azuremanaged's default outside
#: the US government clouds).
SCHEDULER_SCOPE = "https://durabletask.io/.default"
#: A token this close to its expiry is renewed before a call.
TOKEN_MARGIN_SECONDS = 300

Metadata = list[tuple[str, str]]


# -- where the engine is ------------------------------------------------------------------
@dataclass(frozen=True)
class Backend:
    """A durabletask backend as configuration names it."""

    address: str
    secure: bool
    #: Headers on every call: the Dapr API token (sidecar), or the task hub (scheduler).
    metadata: tuple[tuple[str, str], ...]
    #: Set for the Durable Task Scheduler: calls carry an Entra token, and orchestrator
    #: answers are cleared of the Dapr fork's fields (`for_scheduler`).
    taskhub: str | None = None

    @property
    def scheduler(self) -> bool:
        return self.taskhub is not None


def backend_of(settings: CheckoutSettings) -> Backend:
    """The durabletask backend: the configured scheduler, else this app's sidecar."""
    endpoint = settings.durabletask_endpoint
    if endpoint is None:
        return Backend(
            address=f"127.0.0.1:{settings.dapr_grpc_port}",
            secure=settings.durabletask_secure,
            metadata=tuple(settings.sidecar_headers.items()),
        )
    secure = settings.durabletask_secure or endpoint.lower().startswith(("https://", "grpcs://"))
    taskhub = settings.durabletask_taskhub
    return Backend(
        address=endpoint,
        secure=secure,
        metadata=(("taskhub", taskhub),) if taskhub else tuple(settings.sidecar_headers.items()),
        taskhub=taskhub,
    )


# -- the scheduler's headers --------------------------------------------------------------
class EntraToken:
    """A bearer token for the scheduler from an azure-identity credential, renewed
    `TOKEN_MARGIN_SECONDS` before it expires (one renewal at a time across threads)."""

    def __init__(self, credential: Any, scope: str = SCHEDULER_SCOPE) -> None:
        self.credential = credential
        self.scope = scope
        self._token: Any = None
        self._lock = threading.Lock()

    def stale(self) -> bool:
        token = self._token
        return token is None or token.expires_on - time.time() < TOKEN_MARGIN_SECONDS

    def header(self) -> str:
        if self.stale():
            with self._lock:
                if self.stale():
                    self._token = self.credential.get_token(self.scope)
        return f"Bearer {self._token.token}"


def _with(details: Any, extra: Metadata) -> _ClientCallDetails:
    return _ClientCallDetails(
        details.method,
        details.timeout,
        [*(details.metadata or []), *extra],
        details.credentials,
        details.wait_for_ready,
        getattr(details, "compression", None),
    )


#: The Dapr fork's fields whose numbers Microsoft's schema (what the scheduler parses) gives
#: to something else, in what a worker sends (README "Saga engines": found by comparing
#: durabletask-dapr 0.17.4's descriptors with Microsoft's durabletask 1.12.0's). The worker
#: sets each of them, if only empty, on every call: the scheduler would read
#: `OrchestratorAction.router` (9) as a `rewindOrchestration`, `ScheduleTaskAction`'s
#: `router` (4) as `tags` and its `taskExecutionId` string (5) as a `parentTraceContext`.
SCHEDULER_CONFLICTS: dict[str, dict[str, int]] = {
    "OrchestratorResponse": {"version": 6},
    "OrchestratorAction": {"router": 9},
    "ScheduleTaskAction": {"router": 4, "taskExecutionId": 5},
    "CreateSubOrchestrationAction": {"router": 5},
}


def for_scheduler(response: pb.OrchestratorResponse) -> pb.OrchestratorResponse:
    """An orchestrator's answer without the fields in `SCHEDULER_CONFLICTS`; against the
    scheduler the fork's worker needs none of them (no cross-app routing, no orchestration
    versions, and the execution id only tells Dapr's retries apart)."""
    clean = pb.OrchestratorResponse()
    clean.CopyFrom(response)
    clean.ClearField("version")
    for action in clean.actions:
        action.ClearField("router")
        if action.HasField("scheduleTask"):
            action.scheduleTask.ClearField("router")
            action.scheduleTask.ClearField("taskExecutionId")
        if action.HasField("createSubOrchestration"):
            action.createSubOrchestration.ClearField("router")
    return clean


class SchedulerHeaders(Headers):
    """What durabletask-azuremanaged's interceptor adds, for the blocking client and worker:
    the task hub, the worker's id, a fresh Entra token; and orchestrator answers readable by
    Microsoft's schema (`for_scheduler`)."""

    def __init__(self, metadata: Metadata, token: EntraToken | None) -> None:
        super().__init__(metadata)
        self.token = token

    def _intercept_call(self, client_call_details: Any) -> grpc.ClientCallDetails:
        extra = list(self._metadata)
        if self.token is not None:
            extra.append(("authorization", self.token.header()))
        return _with(client_call_details, extra)

    def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any):  # type: ignore[no-untyped-def]
        if isinstance(request, pb.OrchestratorResponse):
            request = for_scheduler(request)
        return continuation(self._intercept_call(client_call_details), request)


class AsyncTokenHeaders(AsyncHeaders):
    """Headers for the async client (long polls, history), with the scheduler's Entra token
    where there is one; a renewal runs in a thread, so the event loop never waits on the
    identity endpoint."""

    def __init__(self, metadata: Metadata, token: EntraToken | None) -> None:
        super().__init__(metadata)
        self.token = token

    async def _details(self, details: Any) -> Any:
        extra = list(self._metadata)
        if self.token is not None:
            bearer = (
                await asyncio.to_thread(self.token.header)
                if self.token.stale()
                else self.token.header()
            )
            extra.append(("authorization", bearer))
        return _with(details, extra)

    async def intercept_unary_unary(
        self, continuation: Any, client_call_details: Any, request: Any
    ):  # type: ignore[no-untyped-def]
        return await continuation(await self._details(client_call_details), request)

    async def intercept_unary_stream(
        self, continuation: Any, client_call_details: Any, request: Any
    ):  # type: ignore[no-untyped-def]
        return await continuation(await self._details(client_call_details), request)

    async def intercept_stream_unary(
        self, continuation: Any, client_call_details: Any, requests: Any
    ):  # type: ignore[no-untyped-def]
        return await continuation(await self._details(client_call_details), requests)

    async def intercept_stream_stream(
        self, continuation: Any, client_call_details: Any, requests: Any
    ):  # type: ignore[no-untyped-def]
        return await continuation(await self._details(client_call_details), requests)


def default_credential() -> Any:
    """Managed identity in Azure (AZURE_CLIENT_ID names the user-assigned one), a developer's
    az login elsewhere."""
    from azure.identity import DefaultAzureCredential  # only where a scheduler is configured

    return DefaultAzureCredential()


def interceptors_for(
    backend: Backend, token: EntraToken | None, worker_id: str | None = None
) -> list[Any] | None:
    if not backend.scheduler:
        return [Headers(list(backend.metadata))] if backend.metadata else None
    metadata = list(backend.metadata) + ([("workerid", worker_id)] if worker_id else [])
    return [SchedulerHeaders(metadata, token)]
