"""The checkout saga (SPEC "Checkout saga"): orchestrator and activities.

Only the durabletask programming model is used (context.call_activity, retry policies),
so the same code can run on Dapr Workflow or Azure's Durable Task Scheduler.
The orchestrator is deterministic: no I/O, no clock, no randomness. Activities are thin,
idempotent wrappers around the ports (order id = workflow instance id; every order
transition carries a transition id derived from the instance id).

This version prices the request, creates the order, reserves the stock (all lines or
none; on a shortage the order is cancelled) and moves the order to awaiting_payment. The
catalog commits the reservation when the order is paid and releases it when the order is
cancelled or its payment fails (order-events). Fraud scoring and payment join with their
issues.
"""

from collections.abc import Generator
from datetime import timedelta
from typing import Any

from dapr.ext.workflow import DaprWorkflowContext, RetryPolicy, WorkflowActivityContext

from apps.checkout.domain import price_lines
from apps.checkout.service import CheckoutPorts
from apps.contracts.checkout import CheckoutInput, PricedOrder
from apps.contracts.errors import DomainError, ErrorCode
from apps.contracts.orders import OrderStatus, TransitionRequest

RETRY = RetryPolicy(
    first_retry_interval=timedelta(seconds=1),
    max_number_of_attempts=5,
    backoff_coefficient=2,
    max_retry_interval=timedelta(seconds=10),
)

_ports: CheckoutPorts | None = None


def bind_ports(ports: CheckoutPorts | None) -> None:
    """Activities are registered as plain functions; the app binds their I/O at start-up."""
    global _ports
    _ports = ports


def ports() -> CheckoutPorts:
    if _ports is None:
        raise RuntimeError("checkout ports are not bound (app not started)")
    return _ports


def checkout_saga(
    ctx: DaprWorkflowContext, payload: dict[str, Any]
) -> Generator[Any, Any, dict[str, Any]]:
    request = CheckoutInput.model_validate(payload)
    priced = yield ctx.call_activity(price_order, input=payload, retry_policy=RETRY)
    if not priced["ok"]:
        return {"outcome": "rejected", "order_id": request.order_id, "reason": priced["error"]}
    order = yield ctx.call_activity(
        create_order,
        input={"request": payload, "priced": priced["priced"], "instance_id": ctx.instance_id},
        retry_policy=RETRY,
    )
    held = yield ctx.call_activity(
        reserve_stock,
        input={
            "order_id": order["order_id"],
            "lines": [
                {"sku": line["sku"], "quantity": line["quantity"]} for line in order["items"]
            ],
        },
        retry_policy=RETRY,
    )
    if not held["ok"]:
        # Compensation: nothing was held (all or nothing); the order is cancelled with a
        # reason the shopper can read.
        yield ctx.call_activity(
            cancel_order,
            input={
                "order_id": order["order_id"],
                "instance_id": ctx.instance_id,
                "reason": held["error"]["message"],
            },
            retry_policy=RETRY,
        )
        return {"outcome": "rejected", "order_id": order["order_id"], "reason": held["error"]}
    order = yield ctx.call_activity(
        request_payment,
        input={"order_id": order["order_id"], "instance_id": ctx.instance_id},
        retry_policy=RETRY,
    )
    return {
        "outcome": order["status"],
        "order_id": order["order_id"],
        "order_number": order["order_number"],
        "totals": order["totals"],
    }


def price_order(ctx: WorkflowActivityContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Snapshot the products and price the lines; a business refusal is a result, not a retry."""
    request = CheckoutInput.model_validate(payload)
    gateway = ports()
    products = {}
    for item in request.items:
        product = gateway.get_product(item.product_id)
        if product is not None:
            products[product.product_id] = product
    try:
        priced = price_lines(request.items, products)
    except DomainError as exc:
        return {
            "ok": False,
            "error": {"code": exc.code, "message": exc.message, "details": exc.details},
        }
    return {"ok": True, "priced": priced.model_dump(mode="json")}


def create_order(ctx: WorkflowActivityContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Idempotent: the orders app creates an order id once and answers it again on retry."""
    request = CheckoutInput.model_validate(payload["request"])
    priced = PricedOrder.model_validate(payload["priced"])
    order = ports().place_order(
        {
            "order_id": request.order_id,
            "email": str(request.email),
            "user_id": request.user_id,
            "items": [line.model_dump(mode="json") for line in priced.lines],
            "totals": priced.totals.model_dump(mode="json"),
            "shipping_address": request.shipping_address.model_dump(mode="json")
            if request.shipping_address
            else None,
            "billing_address": request.billing_address.model_dump(mode="json")
            if request.billing_address
            else None,
            "correlation_id": request.correlation_id,
        }
    )
    return order.model_dump(mode="json")


def request_payment(ctx: WorkflowActivityContext, payload: dict[str, Any]) -> dict[str, Any]:
    req = TransitionRequest(
        to=OrderStatus.AWAITING_PAYMENT,
        reason="checkout submitted for payment",
        transition_id=f"{payload['instance_id']}:awaiting_payment",
        actor="checkout",
    )
    order = ports().transition_order(payload["order_id"], req.model_dump(mode="json"))
    return order.model_dump(mode="json")


def reserve_stock(ctx: WorkflowActivityContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Idempotent by order id; a shortage is a result (compensate), not a retry."""
    try:
        ports().reserve_stock(payload)
    except DomainError as exc:
        if exc.code in (ErrorCode.CONFLICT, ErrorCode.UNPROCESSABLE_ENTITY):
            return {
                "ok": False,
                "error": {"code": exc.code, "message": exc.message, "details": exc.details},
            }
        raise
    return {"ok": True}


def cancel_order(ctx: WorkflowActivityContext, payload: dict[str, Any]) -> dict[str, Any]:
    req = TransitionRequest(
        to=OrderStatus.CANCELLED,
        reason=payload["reason"],
        transition_id=f"{payload['instance_id']}:cancelled",
        actor="checkout",
    )
    return (
        ports()
        .transition_order(payload["order_id"], req.model_dump(mode="json"))
        .model_dump(mode="json")
    )
