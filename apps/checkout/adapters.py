"""Dapr I/O of checkout: the Dapr Workflow saga engine and the activities' invocations."""

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import grpc
import structlog
from dapr.ext.workflow import DaprWorkflowClient, WorkflowRuntime, WorkflowStatus
from dapr.ext.workflow.workflow_state import WorkflowState
from durabletask.aio.client import AsyncTaskHubGrpcClient
from durabletask.internal import orchestrator_service_pb2 as pb
from pydantic import BaseModel

from apps.checkout import activities, workflows
from apps.checkout.operations import INDEX_KIND, IndexRow, SagaSnapshot
from apps.checkout.service import UNDER_WAY, CheckoutService
from apps.contracts.cart import Cart, CartReply
from apps.contracts.catalog import Product, ProductBatch, ProductBatchRequest
from apps.contracts.checkout import (
    CheckoutOutcome,
    CheckoutState,
    CheckoutStatus,
    Compensation,
    PromoRedemption,
)
from apps.contracts.errors import Conflict
from apps.contracts.events import EventEnvelope, utcnow
from apps.contracts.fraud import Decision, FraudContext, FraudScore
from apps.contracts.identity import AccountStanding
from apps.contracts.inventory import ReserveRequest
from apps.contracts.merchandising import FraudReviewRequested
from apps.contracts.names import ActorType, AppId, Topic
from apps.contracts.operations_sagas import ENDED, SagaHistoryEvent
from apps.contracts.orders import (
    CustomerHistory,
    Order,
    OrderStatus,
    PlaceOrder,
    TransitionRequest,
)
from apps.contracts.payments import CreatePayment, Payment, PaymentAction, PaymentStatus
from apps.platform.dapr import Sidecar, SyncInvoker
from apps.platform.state import EtagMismatch, JsonStateStore

log = structlog.stdlib.get_logger("checkout.adapters")

#: A long poll reads the saga this often, and this often (this many times) after one of its
#: steps that can end it ended here: the saga ends a moment after such a step. Each read is
#: a read of the workflow store by the sidecar, so the slow pace is what waiting costs.
SLOW_CHECK = 1.0
QUICK_CHECK = 0.02
QUICK_CHECKS = 10

#: How long an activity waits for the promo store through the app's event loop.
PROMO_STORE_SECONDS = 30.0

_STATUS = {
    WorkflowStatus.RUNNING: CheckoutStatus.RUNNING,
    WorkflowStatus.COMPLETED: CheckoutStatus.COMPLETED,
    WorkflowStatus.FAILED: CheckoutStatus.FAILED,
    WorkflowStatus.TERMINATED: CheckoutStatus.TERMINATED,
    WorkflowStatus.PENDING: CheckoutStatus.PENDING,
    WorkflowStatus.SUSPENDED: CheckoutStatus.SUSPENDED,
}


def build_runtime(
    host: str, port: int, max_activities: int, orchestrations: int, threads: int
) -> WorkflowRuntime:
    runtime = WorkflowRuntime(
        host=host,
        port=str(port),
        maximum_concurrent_activity_work_items=max_activities,
        maximum_concurrent_orchestration_work_items=orchestrations,
        maximum_thread_pool_workers=threads,
    )
    runtime.register_workflow(workflows.checkout_saga)
    for activity in activities.ACTIVITIES:
        runtime.register_activity(activity)
    return runtime


class WorkerWatch:
    """Whether the workflow worker's stream to the sidecar is up. The SDK's stream may not
    recover after a sidecar restart: not ready at once (no new checkouts routed here), and
    not live once it has been down for `stall_seconds` (the platform restarts the app)."""

    def __init__(self, runtime: WorkflowRuntime, stall_seconds: float) -> None:
        # The runtime keeps its durabletask worker private; `is_worker_ready` is public on it.
        self.worker = runtime._WorkflowRuntime__worker  # type: ignore[attr-defined]
        self.stall_seconds = stall_seconds
        self.down_since: float | None = None

    def _down_for(self) -> float | None:
        if self.worker.is_worker_ready():
            self.down_since = None
            return None
        now = time.monotonic()
        self.down_since = self.down_since or now
        return now - self.down_since

    def ready_problem(self, _state: Any) -> str | None:
        down = self._down_for()
        return None if down is None else "workflow worker not connected to the sidecar"

    def live_problem(self, _state: Any) -> str | None:
        down = self._down_for()
        if down is None or down < self.stall_seconds:
            return None
        return f"workflow worker disconnected for {down:.0f} s"


class DaprSagaEngine:
    """The blocking workflow client, run off the event loop, and an async one for long polls
    (`wait`, which holds no thread). It keeps the start time of every blocking call still in
    its thread: a call to the workflow engine takes milliseconds, so one stuck
    for `stuck_seconds` means the engine takes no more work from this app (seen when the
    sidecar alone restarted under load, dapr/dapr#9070) and liveness restarts it."""

    def __init__(
        self,
        client: DaprWorkflowClient,
        stuck_seconds: float = 60.0,
        waiter: AsyncTaskHubGrpcClient | None = None,
    ) -> None:
        self.client = client
        self.waiter = waiter
        self.stuck_seconds = stuck_seconds
        self._waiting: dict[str, asyncio.Event] = {}
        self._waiters: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._in_flight: dict[int, float] = {}
        self._calls = itertools.count()

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """The app's event loop, where long polls wait (activities wake them from threads)."""
        self._loop = loop

    async def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        token = next(self._calls)

        def timed() -> Any:
            self._in_flight[token] = time.monotonic()
            try:
                return fn(*args, **kwargs)
            finally:
                self._in_flight.pop(token, None)

        return await asyncio.to_thread(timed)

    def live_problem(self, _state: Any) -> str | None:
        oldest = min(self._in_flight.values(), default=None)
        if oldest is None or time.monotonic() - oldest < self.stuck_seconds:
            return None
        stuck = sum(1 for t in self._in_flight.values() if time.monotonic() - t >= 1)
        return f"{stuck} workflow engine call(s) stuck for {time.monotonic() - oldest:.0f} s"

    async def start(self, instance_id: str, payload: dict[str, Any]) -> bool:
        if await self._call(self._get, instance_id) is not None:
            return False
        try:
            await self._call(
                self.client.schedule_new_workflow,
                workflows.checkout_saga,
                input=payload,
                instance_id=instance_id,
            )
        except Exception as exc:  # a concurrent request with the same key won the race
            if await self._call(self._get, instance_id) is not None:
                log.info("checkout already started", order_id=instance_id, detail=str(exc))
                return False
            raise
        return True

    async def status(self, instance_id: str) -> CheckoutState | None:
        found = await self.describe(instance_id)
        return found[0] if found else None

    async def describe(self, instance_id: str) -> tuple[CheckoutState, dict[str, Any]] | None:
        state = await self._call(self._get, instance_id)
        if state is None:
            return None
        return _described(instance_id, state)

    async def wait(
        self, instance_id: str, seconds: float, awaiting_shopper: bool = False
    ) -> tuple[CheckoutState, dict[str, Any]] | None:
        """The instance once it has ended or its waiting for the shopper's authentication
        changed from `awaiting_shopper` (the client has something to do, or it is done), or
        as it is after `seconds` (a long poll). It is
        read every `SLOW_CHECK` seconds, and every `QUICK_CHECK` for a while after one of
        its steps ended in this app (`step_done`): the saga may be about to end. Reads go
        over the async gRPC client: no thread is held while waiting."""
        deadline = time.monotonic() + seconds
        wake = self._waiting.setdefault(instance_id, asyncio.Event())
        self._waiters[instance_id] = self._waiters.get(instance_id, 0) + 1
        quick = 0
        try:
            while True:
                found = await self._read(instance_id)
                left = deadline - time.monotonic()
                if found is None or found[0].status not in UNDER_WAY or left <= 0:
                    return found
                if (found[0].payment is not None) != awaiting_shopper:
                    return found
                try:
                    pause = QUICK_CHECK if quick else SLOW_CHECK
                    await asyncio.wait_for(wake.wait(), timeout=min(pause, left))
                    wake.clear()
                    quick = QUICK_CHECKS
                except TimeoutError:
                    quick = max(quick - 1, 0)
        finally:
            self._waiters[instance_id] -= 1
            if not self._waiters[instance_id]:
                del self._waiters[instance_id], self._waiting[instance_id]

    def step_done(self, instance_id: str) -> None:
        """From an activity's thread: a step of `instance_id` ended in this app."""
        if self._loop is not None and instance_id in self._waiting:
            self._loop.call_soon_threadsafe(self._wake, instance_id)

    def _wake(self, instance_id: str) -> None:
        found = self._waiting.get(instance_id)
        if found is not None:
            found.set()

    async def _read(self, instance_id: str) -> tuple[CheckoutState, dict[str, Any]] | None:
        if self.waiter is None:
            return await self.describe(instance_id)
        found = await self.waiter.get_orchestration_state(instance_id, fetch_payloads=True)
        if found is None:
            return None
        state = WorkflowState(found)
        return _described(instance_id, state)

    async def input_of(self, instance_id: str) -> dict[str, Any] | None:
        state = await self._call(self._get, instance_id)
        return _input(state) if state is not None else None

    async def raise_event(self, instance_id: str, name: str, data: dict[str, Any]) -> bool:
        state = await self._call(self._get, instance_id)
        if state is None or state.runtime_status not in (
            WorkflowStatus.RUNNING,
            WorkflowStatus.PENDING,
            WorkflowStatus.SUSPENDED,
        ):
            return False
        await self._call(self.client.raise_workflow_event, instance_id, name, data=data)
        return True

    def _get(self, instance_id: str) -> Any:
        return self.client.get_workflow_state(instance_id, fetch_payloads=True)

    # -- operations (admin) --------------------------------------------------------------
    async def snapshot(self, saga_id: str) -> SagaSnapshot | None:
        state = await self._call(self._get, saga_id)
        return None if state is None else _snapshot(saga_id, state)

    async def terminate(self, saga_id: str, output: dict[str, Any]) -> None:
        await self._call(self.client.terminate_workflow, saga_id, output=output)

    async def wait_ended(self, saga_id: str, seconds: float) -> SagaSnapshot | None:
        """The instance once the engine has ended it, or as it is after `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            found = await self.snapshot(saga_id)
            if found is None or found.status in ENDED or time.monotonic() >= deadline:
                return found
            await asyncio.sleep(SLOW_CHECK)

    async def purge(self, saga_id: str) -> None:
        await self._call(self.client.purge_workflow, saga_id)

    async def history(self, saga_id: str) -> list[SagaHistoryEvent] | None:
        """The engine's history (GetInstanceHistory, Dapr 1.17+; 1.16 has none); None where
        the sidecar does not implement it."""
        if self.waiter is None:
            return None
        try:
            found = await self.waiter._stub.GetInstanceHistory(
                pb.GetInstanceHistoryRequest(instanceId=saga_id)
            )
        except grpc.aio.AioRpcError as exc:
            if unsupported(exc):
                return None
            raise
        return history_events(found.events)

    async def rerun(self, saga_id: str, event_id: int, new_id: str) -> str | None:
        """RerunWorkflowFromEvent (Dapr 1.16+) into `new_id`; a retry whose instance exists
        answers it. None where the sidecar does not implement it."""
        if self.waiter is None:
            return None
        request = pb.RerunWorkflowFromEventRequest(
            sourceInstanceID=saga_id, eventID=event_id, newInstanceID=new_id
        )
        try:
            found = await self.waiter._stub.RerunWorkflowFromEvent(request)
        except grpc.aio.AioRpcError as exc:
            if unsupported(exc):
                return None
            if await self.snapshot(new_id) is not None:
                return new_id
            if exc.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND):
                raise Conflict(
                    f"The engine refused the rerun: {exc.details()}", saga_id=saga_id
                ) from exc
            raise
        return str(found.newInstanceID or new_id)


def _checkout_state(instance_id: str, state: Any) -> CheckoutState:
    output = (
        CheckoutOutcome.model_validate_json(state.serialized_output)
        if state.serialized_output
        else None
    )
    failure = state.failure_details.message if state.failure_details else None
    status = _STATUS.get(state.runtime_status, CheckoutStatus.UNKNOWN)
    return CheckoutState(
        order_id=instance_id,
        status=status,
        result=output,
        failure=failure,
        created_at=state.created_at.isoformat() if state.created_at else None,
        last_updated_at=state.last_updated_at.isoformat() if state.last_updated_at else None,
        payment=PaymentAction(status=PaymentStatus.REQUIRES_ACTION)
        if status in UNDER_WAY and awaiting_authentication(state.serialized_custom_status)
        else None,
    )


def _snapshot(saga_id: str, state: Any) -> SagaSnapshot:
    checkout = _checkout_state(saga_id, state)
    return SagaSnapshot(
        saga_id=saga_id,
        status=checkout.status,
        created_at=_aware(state.created_at),
        last_updated_at=_aware(state.last_updated_at),
        custom_status=state.serialized_custom_status or "",
        input=_input(state) or {},
        result=checkout.result,
        failure=checkout.failure,
    )


def unsupported(exc: grpc.aio.AioRpcError) -> bool:
    """Whether the sidecar lacks this workflow RPC: UNIMPLEMENTED, or (Dapr 1.16) the gRPC
    proxy's answer to a method it does not serve, which it takes for a service call."""
    if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
        return True
    return exc.code() == grpc.StatusCode.UNKNOWN and "failed to proxy request" in (
        exc.details() or ""
    )


def _aware(at: datetime | None) -> datetime | None:
    """The engine's times are UTC without a zone."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


#: The orchestrator's own bookkeeping, left out of a saga's history.
_QUIET = frozenset({"orchestratorStarted", "orchestratorCompleted"})


def history_events(events: Any) -> list[SagaHistoryEvent]:
    """The engine's history events as operators read them."""
    found: list[SagaHistoryEvent] = []
    for event in events:
        kind = event.WhichOneof("eventType") or "unknown"
        if kind in _QUIET:
            continue
        body = getattr(event, kind, None)
        name, task_id, detail = "", None, ""
        if kind in ("taskScheduled", "eventRaised", "executionStarted", "eventSent"):
            name = body.name
        elif kind in ("taskCompleted", "taskFailed"):
            task_id = body.taskScheduledId
            if kind == "taskFailed" and body.HasField("failureDetails"):
                detail = body.failureDetails.errorMessage[:500]
        elif kind == "timerCreated":
            detail = body.fireAt.ToDatetime(tzinfo=UTC).isoformat()
        elif kind == "timerFired":
            task_id = body.timerId
        elif kind == "executionCompleted" and body.HasField("failureDetails"):
            detail = body.failureDetails.errorMessage[:500]
        at = event.timestamp.ToDatetime(tzinfo=UTC) if event.HasField("timestamp") else None
        found.append(
            SagaHistoryEvent(
                event_id=event.eventId, kind=kind, at=at, name=name, task_id=task_id, detail=detail
            )
        )
    return found


class StateSagaIndex:
    """`saga-index:{id}`: checkout's row per saga it started (apps/checkout/operations.py)."""

    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    @staticmethod
    def _key(saga_id: str) -> str:
        return f"saga-index:{saga_id}"

    async def opened(self, saga_id: str, at: datetime) -> None:
        row = IndexRow(saga_id=saga_id, started_at=at.isoformat())
        with contextlib.suppress(EtagMismatch):  # recorded by an earlier attempt
            await self.store.insert(self._key(saga_id), row.to_doc())

    async def rows(self, ended: bool | None = None) -> list[IndexRow]:
        kind: dict[str, Any] = {"EQ": {"kind": INDEX_KIND}}
        where = kind if ended is None else {"AND": [kind, {"EQ": {"ended": ended}}]}
        return [IndexRow.of(doc.value) for doc in await self.store.scan(where, "saga_id")]

    async def get(self, saga_id: str) -> IndexRow | None:
        found = await self.store.get(self._key(saga_id))
        return IndexRow.of(found.value) if found else None

    async def update(self, saga_id: str, change: Callable[[IndexRow], IndexRow]) -> None:
        def step(raw: Any | None) -> Any | None:
            current = IndexRow.of(raw) if raw else IndexRow(saga_id=saga_id, started_at="")
            new = change(current)
            return None if new == current else new.to_doc()

        await self.store.compare_and_set(self._key(saga_id), step)

    async def rerun_as(self, saga_id: str) -> str | None:
        found = await self.get(saga_id)
        return found.rerun_as if found else None

    async def remove(self, saga_id: str) -> None:
        found = await self.store.get(self._key(saga_id))
        if found is not None:
            await self.store.delete(self._key(saga_id), found.etag)


class SidecarCompensator:
    """The saga's failure path run by an operator's terminate: the same activities' work,
    through the same ports (blocking: the caller runs it in a thread)."""

    def cancel_payment(self, order_id: str, reason: str) -> PaymentStatus | None:
        return activities.cancel_payment_of(order_id, reason)

    def compensate(self, step: Compensation) -> OrderStatus | None:
        return activities.compensate_outside(step)


def awaiting_authentication(custom_status: str | None) -> bool:
    """Whether the saga's custom status says it waits for the shopper's 3-D Secure (the
    engine may hand the string back JSON-encoded)."""
    if not custom_status:
        return False
    return custom_status.strip('"') == workflows.AWAITING_AUTHENTICATION


def _described(instance_id: str, state: Any) -> tuple[CheckoutState, dict[str, Any]]:
    """An instance's state and the input it was started with ({} without one)."""
    return _checkout_state(instance_id, state), _input(state) or {}


def _input(state: Any) -> dict[str, Any] | None:
    """The input an instance was started with (None without one)."""
    if not state.serialized_input:
        return None
    found = json.loads(state.serialized_input)
    return found if isinstance(found, dict) else None


class PromoUsage:
    """Promo redemptions from the activities' threads straight to checkout's own store: the
    service's compare-and-set, run on the app's event loop (no call through the sidecar
    back into this app)."""

    def __init__(self, service: CheckoutService, loop: asyncio.AbstractEventLoop) -> None:
        self.service = service
        self.loop = loop

    def redeem(self, redemption: PromoRedemption) -> str | None:
        try:
            self._run(self.service.redeem(redemption))
        except Conflict as exc:
            return exc.message
        return None

    def release(self, order_id: str, code: str) -> None:
        self._run(self.service.release(code, order_id))

    def _run(self, work: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=PROMO_STORE_SECONDS)


class SidecarCheckoutPorts:
    """The activities' calls through the sidecar (blocking: activities run in threads)."""

    def __init__(self, invoker: SyncInvoker, pubsub: str, promos: PromoUsage) -> None:
        self.invoker = invoker
        self.pubsub = pubsub
        self.promos = promos

    def get_products(self, product_ids: list[str]) -> dict[str, Product]:
        res = self.invoker.invoke(
            AppId.CATALOG, "products/batch", method="POST", json_body=_batch(product_ids)
        )
        return _products(res.body_or_raise())

    def get_cart(self, cart_id: str) -> Cart | None:
        res = self.invoker.invoke_actor(ActorType.CART, cart_id, "get", {})
        return _cart(res.body_or_raise())

    def redeem_promo(self, redemption: PromoRedemption) -> str | None:
        return self.promos.redeem(redemption)

    def release_promo(self, order_id: str, code: str) -> None:
        self.promos.release(order_id, code)

    def place_order(self, cmd: PlaceOrder) -> Order:
        res = self.invoker.invoke(AppId.ORDERS, "orders", method="POST", json_body=_json(cmd))
        return Order.model_validate(res.body_or_raise())

    def transition_order(self, order_id: str, req: TransitionRequest) -> Order:
        res = self.invoker.invoke(
            AppId.ORDERS, f"orders/{order_id}/transitions", method="POST", json_body=_json(req)
        )
        return Order.model_validate(res.body_or_raise())

    def get_order(self, order_id: str) -> Order:
        res = self.invoker.invoke(AppId.ORDERS, f"orders/{order_id}")
        return Order.model_validate(res.body_or_raise())

    def reserve_stock(self, req: ReserveRequest) -> None:
        self.invoker.invoke(
            AppId.CATALOG, "inventory/reservations", method="POST", json_body=_json(req)
        ).body_or_raise()

    def release_stock(self, order_id: str, reason: str) -> None:
        res = self.invoker.invoke(
            AppId.CATALOG,
            f"inventory/reservations/{order_id}/release",
            method="POST",
            json_body={"reason": reason},
        )
        if res.status != 404:  # nothing was held
            res.body_or_raise()

    def commit_stock(self, order_id: str) -> None:
        self.invoker.invoke(
            AppId.CATALOG, f"inventory/reservations/{order_id}/commit", method="POST"
        ).body_or_raise()

    def account_standing(self, user_id: str, payment_method: str) -> AccountStanding | None:
        res = self.invoker.invoke(
            AppId.IDENTITY, f"users/{user_id}/standing?payment_method={payment_method}"
        )
        if res.status == 404:  # closed meanwhile: scored as a new account
            return None
        return AccountStanding.model_validate(res.body_or_raise())

    def customer_history(self, user_id: str, exclude_order_id: str) -> CustomerHistory | None:
        res = self.invoker.invoke(
            AppId.ORDERS, f"customers/{user_id}/history?exclude={exclude_order_id}"
        )
        return CustomerHistory.model_validate(res.body_or_raise())

    def score_fraud(self, context: FraudContext) -> FraudScore:
        """The fraud app's score; an order held for review is announced on order-events
        (`FraudReviewRequested`, once per order by its event id) for the staff queue."""
        res = self.invoker.invoke(AppId.FRAUD, "score", method="POST", json_body=_json(context))
        score = FraudScore.model_validate(res.body_or_raise())
        if score.decision == Decision.REVIEW and context.order_id:
            held = FraudReviewRequested(
                order_id=context.order_id,
                email=context.email,
                amount=Decimal(str(context.amount)),
                currency=context.currency,
                probability=score.probability,
                model_version=score.model_version,
                top_features=score.top_features,
                at=utcnow(),
            )
            envelope = EventEnvelope.of(
                held,
                correlation_id=context.order_id,
                source=AppId.CHECKOUT,
                event_id=f"{context.order_id}:fraud-review",
            )
            self.publish(Topic.ORDER_EVENTS, envelope)
        return score

    def create_payment(self, cmd: CreatePayment) -> Payment:
        res = self.invoker.invoke(AppId.PAYMENTS, "payments", method="POST", json_body=_json(cmd))
        return Payment.model_validate(res.body_or_raise())

    def cancel_payment(self, order_id: str, reason: str) -> Payment | None:
        res = self.invoker.invoke(
            AppId.PAYMENTS,
            f"payments/{order_id}/cancel",
            method="POST",
            json_body={"reason": reason},
        )
        if res.status == 404:
            return None
        return Payment.model_validate(res.body_or_raise())

    def refund_payment(self, order_id: str, reason: str) -> None:
        res = self.invoker.invoke(
            AppId.PAYMENTS,
            f"payments/{order_id}/refund",
            method="POST",
            # One compensation per order: a retried activity refunds nothing more.
            json_body={"key": "checkout-compensation", "reason": reason[:300]},
        )
        if res.status not in (404, 409):  # no payment, or nothing left to refund
            res.body_or_raise()

    def clear_cart(self, cart_id: str, op_id: str) -> None:
        self.invoker.invoke_actor(
            ActorType.CART, cart_id, "clear", {"op_id": op_id}
        ).body_or_raise()

    def publish(self, topic: str, envelope: EventEnvelope) -> None:
        self.invoker.publish(self.pubsub, topic, envelope)


class SidecarReaders:
    """Quoting's reads (async, in the request path)."""

    def __init__(self, sidecar: Sidecar) -> None:
        self.sidecar = sidecar

    async def get_products(self, product_ids: list[str]) -> dict[str, Product]:
        res = await self.sidecar.invoke(
            AppId.CATALOG, "products/batch", method="POST", json_body=_batch(product_ids)
        )
        return _products(res.body_or_raise())

    async def get_cart(self, cart_id: str) -> Cart | None:
        res = await self.sidecar.invoke_actor(ActorType.CART, cart_id, "get", {})
        return _cart(res.body_or_raise())

    async def payment_action(self, order_id: str) -> PaymentAction | None:
        """The payment with its client secret (the caller checked the shopper's ownership);
        the secret and next action only while the payment waits for authentication."""
        res = await self.sidecar.invoke(
            AppId.PAYMENTS, f"payments/{order_id}", params={"include_client_secret": "true"}
        )
        if res.status == 404:
            return None
        payment = Payment.model_validate(res.body_or_raise())
        waiting = payment.status == PaymentStatus.REQUIRES_ACTION
        return PaymentAction(
            status=payment.status,
            client_secret=payment.client_secret if waiting else None,
            next_action=payment.next_action if waiting else None,
        )


def _batch(product_ids: list[str]) -> dict[str, Any]:
    """One batch read's body: each product once, in first-seen order."""
    return ProductBatchRequest(product_ids=list(dict.fromkeys(product_ids))).model_dump()


def _products(reply: Any) -> dict[str, Product]:
    return {p.product_id: p for p in ProductBatch.model_validate(reply).products}


def _cart(reply: Any) -> Cart | None:
    """The cart of a CartActor reply (`{"ok", "cart", "error"}`)."""
    found = CartReply.model_validate(reply)
    return found.cart if found.ok else None


def _json(model: BaseModel) -> Any:
    return model.model_dump(mode="json")


class StateRedemptionStore:
    """`promo-usage:{CODE}`: order id -> customer, changed by compare-and-set."""

    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def redemptions(self, code: str) -> dict[str, str]:
        found = await self.store.get(f"promo-usage:{code.upper()}")
        return dict(found.value.get("orders", {})) if found else {}

    async def change(
        self, code: str, decide: Callable[[dict[str, str]], dict[str, str] | None]
    ) -> None:
        def step(raw: Any | None) -> Any | None:
            new = decide(dict((raw or {}).get("orders", {})))
            return None if new is None else {"kind": "promo-usage", "code": code, "orders": new}

        await self.store.compare_and_set(f"promo-usage:{code.upper()}", step)
