"""The saga engine by configuration (`CHECKOUT_SAGA_ENGINE`, README "Saga engines").

`dapr`: Dapr Workflow through the SDK (`DaprWorkflowClient`, `WorkflowRuntime`).
`durabletask`: the generic durabletask client and worker of the same library (the SDK's
`durabletask` module, durabletask-dapr) on any backend that serves the durabletask gRPC
protocol: this app's sidecar (what the integration tests run), or Azure's Durable Task
Scheduler (`CHECKOUT_DURABLETASK_ENDPOINT` + `_TASKHUB`; its headers and token:
`durabletask_backend.py`).

Both engines run the same orchestrator and activities under the same names, so an instance
started by one is finished by the other. The orchestrator is written against the SDK's
`DaprWorkflowContext` (it passes activity functions and the SDK's `RetryPolicy`, which bare
durabletask does not take); that class and `WorkflowActivityContext` are plain proxies over
durabletask's contexts with no I/O, so they are the adapter here too.
"""

import os
import socket
import uuid
from collections.abc import Callable
from typing import Any

import grpc
import structlog
from dapr.ext.workflow import DaprWorkflowClient
from dapr.ext.workflow.dapr_workflow_context import DaprWorkflowContext
from dapr.ext.workflow.workflow_activity_context import WorkflowActivityContext
from dapr.ext.workflow.workflow_state import WorkflowState
from durabletask import client as dt_client
from durabletask import task, worker
from durabletask.aio.client import AsyncTaskHubGrpcClient

from apps.checkout import activities, workflows
from apps.checkout.adapters import DaprSagaEngine, WorkerWatch, build_runtime
from apps.checkout.durabletask_backend import (
    AsyncTokenHeaders,
    Backend,
    EntraToken,
    backend_of,
    default_credential,
    interceptors_for,
)
from apps.checkout.settings import CheckoutSettings

log = structlog.stdlib.get_logger("checkout.engine")


def saga_name() -> str:
    """The orchestrator's registered name: the Dapr runtime's (its alternate name, else the
    function's), so instances are interchangeable between the engines."""
    fn = workflows.checkout_saga
    return str(getattr(fn, "_dapr_alternate_name", fn.__name__))


def activity_names() -> list[str]:
    return [str(getattr(a, "_dapr_alternate_name", a.__name__)) for a in activities.ACTIVITIES]


# -- the durabletask engine ----------------------------------------------------------------
class TaskHubWorkflows:
    """The generic durabletask client under the names `DaprSagaEngine` calls (those of the
    SDK's `DaprWorkflowClient`, itself a thin wrapper of this client)."""

    def __init__(self, client: dt_client.TaskHubGrpcClient) -> None:
        self.client = client

    def schedule_new_workflow(
        self, workflow: Callable[..., Any], *, input: Any = None, instance_id: str | None = None
    ) -> str:
        name = getattr(workflow, "_dapr_alternate_name", workflow.__name__)
        return self.client.schedule_new_orchestration(name, input=input, instance_id=instance_id)

    def get_workflow_state(self, instance_id: str, *, fetch_payloads: bool = True) -> Any:
        try:
            found = self.client.get_orchestration_state(instance_id, fetch_payloads=fetch_payloads)
        except grpc.RpcError as exc:  # daprd answers a missing instance with an error
            if exc.code() == grpc.StatusCode.NOT_FOUND or "no such instance" in (
                exc.details() or ""
            ):
                return None
            raise
        return WorkflowState(found) if found is not None else None

    def raise_workflow_event(self, instance_id: str, event_name: str, *, data: Any = None) -> None:
        self.client.raise_orchestration_event(instance_id, event_name, data=data)

    def terminate_workflow(self, instance_id: str, *, output: Any = None) -> None:
        self.client.terminate_orchestration(instance_id, output=output)

    def purge_workflow(self, instance_id: str) -> None:
        self.client.purge_orchestration(instance_id)

    def close(self) -> None:
        self.client.close()


class DurableTaskSagaEngine(DaprSagaEngine):
    """The saga port over the generic durabletask client: long polls, stuck-call liveness
    and the admin operations are `DaprSagaEngine`'s, only the client differs. History and
    rerun answer None where the backend lacks those RPCs (the scheduler has neither)."""


class DurableTaskWorkerWatch(WorkerWatch):
    """`WorkerWatch` over a bare durabletask worker (the runtime keeps its own private)."""

    def __init__(self, dt_worker: worker.TaskHubGrpcWorker, stall_seconds: float) -> None:
        self.worker = dt_worker
        self.stall_seconds = stall_seconds
        self.down_since: float | None = None


def _orchestrator(fn: Callable[..., Any], name: str) -> task.Orchestrator[Any, Any]:
    def run(ctx: task.OrchestrationContext, payload: Any = None) -> Any:
        return fn(DaprWorkflowContext(ctx), payload)

    run.__name__ = name  # the worker registers a function by its name
    return run


def _activity(fn: Callable[..., Any], name: str) -> task.Activity[Any, Any]:
    def run(ctx: task.ActivityContext, payload: Any = None) -> Any:
        return fn(WorkflowActivityContext(ctx), payload)

    run.__name__ = name
    return run


def register(dt_worker: worker.TaskHubGrpcWorker) -> None:
    """The checkout saga's orchestrator and activities, as the Dapr runtime names them."""
    dt_worker.add_orchestrator(_orchestrator(workflows.checkout_saga, saga_name()))
    for name, fn in zip(activity_names(), activities.ACTIVITIES, strict=True):
        dt_worker.add_activity(_activity(fn, name))


def build_worker(
    settings: CheckoutSettings, backend: Backend, token: EntraToken | None
) -> worker.TaskHubGrpcWorker:
    worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4()}"
    dt_worker = worker.TaskHubGrpcWorker(
        host_address=backend.address,
        secure_channel=backend.secure,
        interceptors=interceptors_for(backend, token, worker_id),
        concurrency_options=worker.ConcurrencyOptions(
            maximum_concurrent_activity_work_items=settings.workflow_max_activities,
            maximum_concurrent_orchestration_work_items=settings.workflow_max_orchestrations,
            maximum_thread_pool_workers=settings.workflow_threads,
        ),
    )
    register(dt_worker)
    return dt_worker


# -- the factory ---------------------------------------------------------------------------
#: Starts an engine's worker; answers how to stop it and its watch.
WorkerStart = Callable[[], tuple[Callable[[], None], WorkerWatch]]


class SagaRuntime:
    """An app's saga engine and its worker: `engine` at once (the service needs it), the
    worker by `start`, once the activities' ports are bound."""

    def __init__(
        self,
        kind: str,
        engine: DaprSagaEngine,
        start_worker: WorkerStart,
        waiter: AsyncTaskHubGrpcClient,
        close: Callable[[], None] | None = None,
    ) -> None:
        self.kind = kind
        self.engine = engine
        self.start_worker = start_worker
        self.waiter = waiter
        self.close = close
        self._stop: Callable[[], None] | None = None

    def start(self) -> WorkerWatch:
        self._stop, watch = self.start_worker()
        return watch

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None

    async def aclose(self) -> None:
        if self.close is not None:
            self.close()
        await self.waiter.aclose()


def build_saga_runtime(
    settings: CheckoutSettings, credential: Callable[[], Any] = default_credential
) -> SagaRuntime:
    """The engine `settings.saga_engine` names; `credential` is called only for a
    scheduler."""
    if settings.saga_engine == "dapr":
        return _dapr_runtime(settings)
    backend = backend_of(settings)
    token = EntraToken(credential()) if backend.scheduler else None
    client = dt_client.TaskHubGrpcClient(
        host_address=backend.address,
        secure_channel=backend.secure,
        interceptors=interceptors_for(backend, token),
    )
    waiter = AsyncTaskHubGrpcClient(
        host_address=backend.address,
        secure_channel=backend.secure,
        interceptors=[AsyncTokenHeaders(list(backend.metadata), token)],
    )
    engine = DurableTaskSagaEngine(
        TaskHubWorkflows(client),  # type: ignore[arg-type]
        settings.worker_stall_seconds,
        waiter,
    )

    def start_worker() -> tuple[Callable[[], None], WorkerWatch]:
        dt_worker = build_worker(settings, backend, token)
        dt_worker.start()
        return dt_worker.stop, DurableTaskWorkerWatch(dt_worker, settings.worker_stall_seconds)

    log.info(
        "saga engine",
        engine="durabletask",
        address=backend.address,
        taskhub=backend.taskhub,
        secure=backend.secure,
    )
    return SagaRuntime("durabletask", engine, start_worker, waiter, client.close)


def _dapr_runtime(settings: CheckoutSettings) -> SagaRuntime:
    client = DaprWorkflowClient(host="127.0.0.1", port=str(settings.dapr_grpc_port))
    waiter = AsyncTaskHubGrpcClient(
        host_address=f"127.0.0.1:{settings.dapr_grpc_port}",
        metadata=list(settings.sidecar_headers.items()),
    )
    engine = DaprSagaEngine(client, settings.worker_stall_seconds, waiter)

    def start_worker() -> tuple[Callable[[], None], WorkerWatch]:
        runtime = build_runtime(
            "127.0.0.1",
            settings.dapr_grpc_port,
            settings.workflow_max_activities,
            settings.workflow_max_orchestrations,
            settings.workflow_threads,
        )
        runtime.start()
        return runtime.shutdown, WorkerWatch(runtime, settings.worker_stall_seconds)

    log.info("saga engine", engine="dapr")
    return SagaRuntime("dapr", engine, start_worker, waiter)
