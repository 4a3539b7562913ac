"""Dapr I/O of checkout: the Dapr Workflow saga engine and the activities' invocations."""

import asyncio
import json
from typing import Any

import structlog
from dapr.ext.workflow import DaprWorkflowClient, WorkflowRuntime, WorkflowStatus

from apps.checkout import workflows
from apps.contracts.catalog import Product
from apps.contracts.checkout import CheckoutState, CheckoutStatus
from apps.contracts.names import AppId
from apps.contracts.orders import Order
from apps.platform.dapr import SyncInvoker

log = structlog.stdlib.get_logger("checkout.adapters")

_STATUS = {
    WorkflowStatus.RUNNING: CheckoutStatus.RUNNING,
    WorkflowStatus.COMPLETED: CheckoutStatus.COMPLETED,
    WorkflowStatus.FAILED: CheckoutStatus.FAILED,
    WorkflowStatus.TERMINATED: CheckoutStatus.TERMINATED,
    WorkflowStatus.PENDING: CheckoutStatus.PENDING,
    WorkflowStatus.SUSPENDED: CheckoutStatus.SUSPENDED,
}


def build_runtime(
    host: str, port: int, activities: int, orchestrations: int, threads: int
) -> WorkflowRuntime:
    runtime = WorkflowRuntime(
        host=host,
        port=str(port),
        maximum_concurrent_activity_work_items=activities,
        maximum_concurrent_orchestration_work_items=orchestrations,
        maximum_thread_pool_workers=threads,
    )
    runtime.register_workflow(workflows.checkout_saga)
    for activity in (
        workflows.price_order,
        workflows.create_order,
        workflows.reserve_stock,
        workflows.cancel_order,
        workflows.request_payment,
    ):
        runtime.register_activity(activity)
    return runtime


class DaprSagaEngine:
    """The blocking workflow client, run off the event loop."""

    def __init__(self, client: DaprWorkflowClient) -> None:
        self.client = client

    async def start(self, instance_id: str, payload: dict[str, Any]) -> bool:
        if await asyncio.to_thread(self._get, instance_id) is not None:
            return False
        try:
            await asyncio.to_thread(
                self.client.schedule_new_workflow,
                workflows.checkout_saga,
                input=payload,
                instance_id=instance_id,
            )
        except Exception as exc:  # a concurrent request with the same key won the race
            if await asyncio.to_thread(self._get, instance_id) is not None:
                log.info("checkout already started", order_id=instance_id, detail=str(exc))
                return False
            raise
        return True

    async def status(self, instance_id: str) -> CheckoutState | None:
        state = await asyncio.to_thread(self._get, instance_id)
        if state is None:
            return None
        output = json.loads(state.serialized_output) if state.serialized_output else None
        failure = state.failure_details.message if state.failure_details else None
        return CheckoutState(
            order_id=instance_id,
            status=_STATUS.get(state.runtime_status, CheckoutStatus.UNKNOWN),
            result=output,
            failure=failure,
            created_at=state.created_at.isoformat() if state.created_at else None,
            last_updated_at=state.last_updated_at.isoformat() if state.last_updated_at else None,
        )

    def _get(self, instance_id: str) -> Any:
        return self.client.get_workflow_state(instance_id, fetch_payloads=True)


class SidecarCheckoutPorts:
    """Activities' calls to catalog and orders through the sidecar."""

    def __init__(self, invoker: SyncInvoker) -> None:
        self.invoker = invoker

    def get_product(self, product_id: str) -> Product | None:
        res = self.invoker.invoke(AppId.CATALOG, f"products/{product_id}")
        if res.status == 404:
            return None
        return Product.model_validate(res.body_or_raise())

    def place_order(self, payload: dict[str, Any]) -> Order:
        res = self.invoker.invoke(AppId.ORDERS, "orders", method="POST", json_body=payload)
        return Order.model_validate(res.body_or_raise())

    def transition_order(self, order_id: str, payload: dict[str, Any]) -> Order:
        res = self.invoker.invoke(
            AppId.ORDERS, f"orders/{order_id}/transitions", method="POST", json_body=payload
        )
        return Order.model_validate(res.body_or_raise())

    def reserve_stock(self, payload: dict[str, Any]) -> None:
        res = self.invoker.invoke(
            AppId.CATALOG, "inventory/reservations", method="POST", json_body=payload
        )
        res.body_or_raise()
