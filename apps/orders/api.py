"""Routes of the orders app (reached only through Dapr service invocation).

`user_id` in queries names whose orders to show; it must be the user of the gateway's
signed context (or the context must be staff): a user id nobody vouched for sees nothing
(404). `email` is what a guest typed.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from apps.contracts.events import EventEnvelope
from apps.contracts.orders import (
    CancelRequest,
    CustomerHistory,
    Order,
    OrderPage,
    OrderStatus,
    OrderSummary,
    PlaceOrder,
    Tracking,
    TransitionRequest,
)
from apps.orders.fulfilment import FulfilmentService
from apps.orders.service import Access, OrdersService, RebuildReport
from apps.platform.context import OwnerEmail, UserId
from apps.platform.http import app_state
from apps.platform.params import Limit, Page
from apps.platform.subscriptions import dispatch

router = APIRouter(tags=["orders"])


Service = Annotated[OrdersService, Depends(app_state("service"))]
Fulfilment = Annotated[FulfilmentService, Depends(app_state("fulfilment"))]


def _access(user_id: str | None, email: str | None) -> Access | None:
    """Neither parameter sent: an internal caller (staff through the gateway, the saga).
    Either one sent, even empty: only the owner or the order's email matches."""
    if user_id is None and email is None:
        return None
    return Access(user_id=user_id, email=email)


@router.post("/orders", status_code=201, response_model=Order)
async def place_order(cmd: PlaceOrder, service: Service, response: Response) -> Order:
    """Create an order (idempotent by `order_id`: a retry answers 200 with the same order)."""
    order, created = await service.place(cmd)
    if not created:
        response.status_code = 200
    return order


@router.get("/orders", response_model=OrderPage)
async def list_orders(
    service: Service,
    user_id: UserId = None,
    status: Annotated[list[OrderStatus] | None, Query(max_length=11)] = None,
    page: Page = 1,
    limit: Limit = 20,
) -> OrderPage:
    """Newest first, from the projection; one user's orders with `user_id`."""
    return await service.list_orders(user_id, status, page, limit)


@router.get("/customers/{user_id}/history", response_model=CustomerHistory)
async def customer_history(
    user_id: Annotated[str, Path(min_length=1, max_length=100)],
    service: Service,
    exclude: Annotated[str | None, Query(max_length=100)] = None,
) -> CustomerHistory:
    """Checkout's fraud scoring (through Dapr; the gateway does not route here): how many
    orders the account placed in the last 24 h / 7 d and its average paid order, leaving
    out `exclude` (the order being scored)."""
    return await service.customer_history(user_id, exclude)


@router.get("/orders/by-number/{order_number}", response_model=OrderSummary)
async def order_by_number(order_number: str, service: Service) -> OrderSummary:
    return await service.by_number(order_number)


@router.get("/orders/{order_id}", response_model=Order)
async def get_order(
    order_id: str, service: Service, email: OwnerEmail = None, user_id: UserId = None
) -> Order:
    """With `email` or `user_id`, answers only the order's owner (404 to anyone else)."""
    return await service.get(order_id, _access(user_id, email))


@router.get("/orders/{order_id}/tracking", response_model=Tracking)
async def tracking(
    order_id: str,
    service: Service,
    fulfilment: Fulfilment,
    email: OwnerEmail = None,
    user_id: UserId = None,
) -> Tracking:
    """The order's timeline, and each shipment's carrier, tracking number, ETA and scans."""
    tracking = await service.tracking(order_id, _access(user_id, email))
    return await fulfilment.tracking(tracking)


@router.post("/orders/{order_id}/cancel", response_model=Order)
async def cancel(
    order_id: str, body: CancelRequest, service: Service, user_id: UserId = None
) -> Order:
    """Cancel before shipping; 409 with the current status after."""
    access = _access(user_id, str(body.email) if body.email else None)
    if access is None:
        access = Access()  # the public cancel always checks the owner
    return await service.cancel(order_id, body.reason, access, by=user_id or "guest")


@router.post("/orders/{order_id}/transitions", response_model=Order)
async def transition(order_id: str, req: TransitionRequest, service: Service) -> Order:
    """Move the order; 409 with the current status when the state machine refuses."""
    return await service.transition(order_id, req)


class RebuildRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_ids: Annotated[list[str], Field(max_length=10_000)] | None = None


@router.post("/admin/projection/rebuild", response_model=RebuildReport)
async def rebuild(service: Service, body: RebuildRequest | None = None) -> RebuildReport:
    """Refresh listed orders from actor state (all listed orders when no ids are given)."""
    return await service.rebuild(body.order_ids if body else None)


async def on_order_events(
    request: Request, cloud_event: dict[str, Any] = Body(...)
) -> dict[str, str]:
    """order-events: keep the projection (idempotent: older versions never overwrite); a
    paid order is shipped, a cancelled one's shipments not yet picked up are voided."""
    service: OrdersService = request.app.state.service
    fulfilment: FulfilmentService = request.app.state.fulfilment

    async def handler(event: EventEnvelope) -> None:
        await service.on_order_event(event)
        await fulfilment.on_order_event(event)

    return await dispatch(
        cloud_event,
        {
            t: handler
            for t in (
                "OrderCreated",
                "OrderStatusChanged",
                "OrderPaid",
                "OrderCancelled",
                "OrderCompleted",
            )
        },
    )


async def on_payment_events(
    request: Request, cloud_event: dict[str, Any] = Body(...)
) -> dict[str, str]:
    """payment-events: refunds move the order to refunded / partially_refunded (once per
    event: the transition id is the event id)."""
    service: OrdersService = request.app.state.service
    return await dispatch(cloud_event, {"RefundProcessed": service.on_payment_event})
