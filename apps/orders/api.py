"""Routes of the orders app (reached only through Dapr service invocation)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from apps.contracts.orders import Order, TransitionRequest
from apps.orders.service import OrdersService, PlaceOrder
from apps.platform.http import app_state

router = APIRouter(tags=["orders"])


Service = Annotated[OrdersService, Depends(app_state("service"))]


@router.post("/orders", status_code=201, response_model=Order)
async def place_order(cmd: PlaceOrder, service: Service, response: Response) -> Order:
    """Create an order (idempotent by `order_id`: a retry answers 200 with the same order)."""
    order, created = await service.place(cmd)
    if not created:
        response.status_code = 200
    return order


@router.get("/orders/{order_id}", response_model=Order)
async def get_order(
    order_id: str,
    service: Service,
    email: Annotated[str | None, Query(max_length=254)] = None,
) -> Order:
    """With `email`, answers only if it matches the order's email (guest look-up)."""
    return await service.get(order_id, email)


@router.post("/orders/{order_id}/transitions", response_model=Order)
async def transition(order_id: str, req: TransitionRequest, service: Service) -> Order:
    """Move the order; 409 with the current status when the state machine refuses."""
    return await service.transition(order_id, req)
