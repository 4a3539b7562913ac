"""The saga engine chosen by configuration (apps/checkout/engine.py), without a backend: the
settings' names, where each engine connects and with which headers, the orchestrator and
activities under the Dapr runtime's names on a bare durabletask worker, and orchestrator
answers readable by the Durable Task Scheduler's schema."""

import asyncio
import json
import logging
import time
from typing import Any

import grpc
import pytest
from durabletask import worker
from durabletask.internal import helpers
from durabletask.internal import orchestrator_service_pb2 as pb
from pydantic import ValidationError

from apps.checkout import activities, engine, workflows
from apps.checkout import durabletask_backend as backends
from apps.checkout.adapters import DaprSagaEngine
from apps.checkout.settings import CheckoutSettings
from apps.contracts.checkout import Placed, Refusal
from tests import factories

SCHEDULER = "https://sc-dts-abc.westeurope.durabletask.io"


def _settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> CheckoutSettings:
    for name in (
        "CHECKOUT_SAGA_ENGINE",
        "CHECKOUT_DURABLETASK_ENDPOINT",
        "CHECKOUT_DURABLETASK_TASKHUB",
        "CHECKOUT_DURABLETASK_SECURE",
        "DAPR_API_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAPR_GRPC_PORT", "50123")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return CheckoutSettings()


class Credential:
    """azure-identity's `get_token`, counting calls; tokens live `lifetime` seconds."""

    def __init__(self, lifetime: float = 3600) -> None:
        self.lifetime = lifetime
        self.scopes: list[str] = []

    def get_token(self, *scopes: str) -> Any:
        self.scopes.extend(scopes)
        expires = int(time.time() + self.lifetime)
        return type("AccessToken", (), {"token": f"t{len(self.scopes)}", "expires_on": expires})


# -- configuration -------------------------------------------------------------------------
def test_settings_names_and_the_dapr_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _settings(monkeypatch).saga_engine == "dapr"
    chosen = _settings(
        monkeypatch,
        CHECKOUT_SAGA_ENGINE="durabletask",
        CHECKOUT_DURABLETASK_ENDPOINT=SCHEDULER,
        CHECKOUT_DURABLETASK_TASKHUB="checkout",
        CHECKOUT_DURABLETASK_SECURE="true",
    )
    assert (chosen.saga_engine, chosen.durabletask_endpoint) == ("durabletask", SCHEDULER)
    assert (chosen.durabletask_taskhub, chosen.durabletask_secure) == ("checkout", True)
    with pytest.raises(ValidationError):
        _settings(monkeypatch, CHECKOUT_SAGA_ENGINE="temporal")
    with pytest.raises(ValidationError, match="TASKHUB needs"):
        _settings(monkeypatch, CHECKOUT_DURABLETASK_TASKHUB="checkout")


def test_without_an_endpoint_the_backend_is_the_sidecar_with_its_api_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _settings(monkeypatch, CHECKOUT_SAGA_ENGINE="durabletask", DAPR_API_TOKEN="tok")
    backend = backends.backend_of(settings)
    assert backend == backends.Backend("127.0.0.1:50123", False, (("dapr-api-token", "tok"),))
    assert not backend.scheduler


def test_a_task_hub_makes_the_backend_a_scheduler_over_tls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _settings(
        monkeypatch,
        CHECKOUT_SAGA_ENGINE="durabletask",
        CHECKOUT_DURABLETASK_ENDPOINT=SCHEDULER,
        CHECKOUT_DURABLETASK_TASKHUB="checkout",
        DAPR_API_TOKEN="tok",  # never sent to the scheduler
    )
    backend = backends.backend_of(settings)
    assert backend == backends.Backend(SCHEDULER, True, (("taskhub", "checkout"),), "checkout")
    # The scheduler's local emulator: plain gRPC, still a task hub.
    emulator = _settings(
        monkeypatch,
        CHECKOUT_DURABLETASK_ENDPOINT="localhost:8080",
        CHECKOUT_DURABLETASK_TASKHUB="default",
    )
    assert not backends.backend_of(emulator).secure and backends.backend_of(emulator).scheduler


def test_the_factory_builds_the_configured_engine_and_asks_for_a_credential_only_for_a_scheduler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[Credential] = []

    def credential() -> Credential:
        asked.append(Credential())
        return asked[-1]

    async def build(settings: CheckoutSettings) -> engine.SagaRuntime:
        runtime = engine.build_saga_runtime(settings, credential)
        await runtime.aclose()  # channels connect lazily: nothing was dialled
        return runtime

    dapr = asyncio.run(build(_settings(monkeypatch)))
    assert dapr.kind == "dapr" and type(dapr.engine) is DaprSagaEngine
    local = asyncio.run(build(_settings(monkeypatch, CHECKOUT_SAGA_ENGINE="durabletask")))
    assert local.kind == "durabletask"
    assert isinstance(local.engine, engine.DurableTaskSagaEngine) and not asked
    scheduler = _settings(
        monkeypatch,
        CHECKOUT_SAGA_ENGINE="durabletask",
        CHECKOUT_DURABLETASK_ENDPOINT=SCHEDULER,
        CHECKOUT_DURABLETASK_TASKHUB="checkout",
    )
    asyncio.run(build(scheduler))
    assert len(asked) == 1 and asked[0].scopes == []  # the token is fetched at the first call


# -- the scheduler's headers ----------------------------------------------------------------
def test_the_entra_token_is_for_the_scheduler_and_renewed_only_near_its_expiry() -> None:
    credential = Credential()
    token = backends.EntraToken(credential)
    assert token.header() == token.header() == "Bearer t1"
    assert credential.scopes == ["https://durabletask.io/.default"]
    short = Credential(lifetime=backends.TOKEN_MARGIN_SECONDS - 1)
    expiring = backends.EntraToken(short)
    assert (expiring.header(), expiring.header()) == ("Bearer t1", "Bearer t2")


class Details:
    method = "/TaskHubSidecarService/CompleteOrchestratorTask"
    timeout = None
    metadata = (("x-caller", "1"),)
    credentials = None
    wait_for_ready = None


def test_scheduler_calls_carry_task_hub_worker_id_and_token() -> None:
    headers = backends.SchedulerHeaders(
        [("taskhub", "checkout"), ("workerid", "w-1")], backends.EntraToken(Credential())
    )
    sent: list[tuple[Any, Any]] = []
    headers.intercept_unary_unary(
        lambda d, r: sent.append((d, r)), Details(), pb.GetInstanceRequest()
    )
    assert sent[0][0].metadata == [
        ("x-caller", "1"),
        ("taskhub", "checkout"),
        ("workerid", "w-1"),
        ("authorization", "Bearer t1"),
    ]

    async def async_call() -> list[tuple[str, str]]:
        waiter = backends.AsyncTokenHeaders(
            [("taskhub", "checkout")], backends.EntraToken(Credential())
        )

        async def seen(details: Any, _request: Any) -> list[tuple[str, str]]:
            return list(details.metadata)

        return await waiter.intercept_unary_unary(seen, Details(), pb.GetInstanceRequest())

    assert asyncio.run(async_call())[1:] == [
        ("taskhub", "checkout"),
        ("authorization", "Bearer t1"),
    ]


# -- the orchestrator on a bare durabletask worker --------------------------------------------
def _worker() -> worker.TaskHubGrpcWorker:
    dt_worker = worker.TaskHubGrpcWorker(host_address="127.0.0.1:1")  # never started
    engine.register(dt_worker)
    return dt_worker


def _payload(order_id: str) -> dict[str, Any]:
    body = factories.checkout({"product_id": "p-x", "quantity": 1})
    return {
        **body,
        "order_id": order_id,
        "correlation_id": "c-1",
        "payment_timeout_seconds": 30,
        "review_timeout_seconds": 60,
    }


def _run(dt_worker: worker.TaskHubGrpcWorker, order_id: str, new: list[Any]) -> Any:
    started = [
        helpers.new_orchestrator_started_event(),
        helpers.new_execution_started_event(
            engine.saga_name(), order_id, json.dumps(_payload(order_id))
        ),
    ]
    executor = worker._OrchestrationExecutor(dt_worker._registry, logging.getLogger("test"))
    return executor.execute(order_id, [], started + new)


def test_registered_under_the_dapr_runtimes_names() -> None:
    registry = _worker()._registry
    assert list(registry.orchestrators) == ["checkout_saga"] == [workflows.checkout_saga.__name__]
    assert sorted(registry.activities) == sorted(a.__name__ for a in activities.ACTIVITIES)


def test_the_same_orchestrator_runs_on_durabletasks_context() -> None:
    dt_worker = _worker()
    first = _run(dt_worker, "o-1", [])
    (action,) = first.actions
    assert action.scheduleTask.name == "place_order"
    assert json.loads(action.scheduleTask.input.value)["request"]["order_id"] == "o-1"
    refused = Placed(refusal=Refusal(code="CONFLICT", message="out of stock"))
    done = _run(
        dt_worker,
        "o-1",
        [
            helpers.new_task_scheduled_event(action.id, "place_order"),
            helpers.new_task_completed_event(action.id, refused.model_dump_json()),
        ],
    )
    (end,) = done.actions
    assert end.completeOrchestration.orchestrationStatus == pb.ORCHESTRATION_STATUS_COMPLETED
    outcome = json.loads(end.completeOrchestration.result.value)
    assert (outcome["outcome"], outcome["reason"]["message"]) == ("rejected", "out of stock")


# -- answers the scheduler can read -----------------------------------------------------------
def test_the_conflicting_fields_are_where_the_table_says() -> None:
    for message, fields in backends.SCHEDULER_CONFLICTS.items():
        numbers = {f.name: f.number for f in pb.DESCRIPTOR.message_types_by_name[message].fields}
        assert {name: numbers[name] for name in fields} == fields, message


def test_orchestrator_answers_to_the_scheduler_lose_the_dapr_forks_fields() -> None:
    dt_worker = _worker()
    actions = _run(dt_worker, "o-2", []).actions
    response = pb.OrchestratorResponse(instanceId="o-2", actions=actions, completionToken="c")
    schedule = response.actions[0]
    assert schedule.HasField("router") and schedule.scheduleTask.HasField("router")
    assert schedule.scheduleTask.taskExecutionId  # what the scheduler would misread
    clean = backends.for_scheduler(response)
    (action,) = clean.actions
    assert not action.HasField("router") and not action.scheduleTask.HasField("router")
    assert action.scheduleTask.taskExecutionId == "" and not clean.HasField("version")
    assert action.scheduleTask.name == "place_order" and clean.completionToken == "c"
    assert action.scheduleTask.input == schedule.scheduleTask.input
    # Through the interceptor, as the worker completes an orchestration task.
    headers = backends.SchedulerHeaders([("taskhub", "checkout")], None)
    sent: list[Any] = []
    headers.intercept_unary_unary(lambda _d, request: sent.append(request), Details(), response)
    assert sent == [clean]


def test_a_missing_instance_is_none_on_both_backends() -> None:
    class Missing(grpc.RpcError):
        def __init__(self, code: grpc.StatusCode, details: str) -> None:
            self._code, self._details = code, details

        def code(self) -> grpc.StatusCode:
            return self._code

        def details(self) -> str:
            return self._details

    class Client:
        def __init__(self, error: grpc.RpcError) -> None:
            self.error = error

        def get_orchestration_state(self, instance_id: str, fetch_payloads: bool = True) -> Any:
            raise self.error

    daprd = Missing(grpc.StatusCode.UNKNOWN, "no such instance exists")
    scheduler = Missing(grpc.StatusCode.NOT_FOUND, "instance not found")
    for error in (daprd, scheduler):
        assert engine.TaskHubWorkflows(Client(error)).get_workflow_state("o-x") is None  # type: ignore[arg-type]
    with pytest.raises(grpc.RpcError):
        engine.TaskHubWorkflows(
            Client(Missing(grpc.StatusCode.UNAVAILABLE, "down"))
        ).get_workflow_state("o-x")  # type: ignore[arg-type]
