"""Return routes of the orders app (through Dapr; the gateway's `/api/orders/{id}/returns`
and `/api/staff/returns/*` forward here) and its support-events subscriber."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response

from apps.contracts.returns import (
    ReturnDecisionIn,
    ReturnPage,
    ReturnRequestIn,
    ReturnStatus,
    ReturnView,
    StaffReturnIn,
)
from apps.orders.returns import ReturnsService
from apps.orders.service import Access, OrdersService
from apps.platform.context import OwnerEmail, UserId
from apps.platform.http import app_state
from apps.platform.params import IdempotencyKey, Limit, Page
from apps.platform.subscriptions import dispatch

router = APIRouter(tags=["returns"])

Returns = Annotated[ReturnsService, Depends(app_state("returns"))]
Orders = Annotated[OrdersService, Depends(app_state("service"))]
ReturnIdPath = Annotated[str, Path(pattern=r"^ret-[A-Za-z0-9_.:-]{1,120}$")]
OrderIdPath = Annotated[str, Path(min_length=1, max_length=64)]


@router.post("/orders/{order_id}/returns", status_code=201, response_model=ReturnView)
async def request_return(
    order_id: OrderIdPath,
    body: ReturnRequestIn,
    orders: Orders,
    returns: Returns,
    response: Response,
    user_id: UserId = None,
    key: IdempotencyKey = None,
) -> ReturnView:
    """The owner (signed in, or a guest with the order's email) returns units of a
    delivered order within the window; the same `Idempotency-Key` answers the same return."""
    access = Access(user_id=user_id, email=str(body.email) if body.email else None)
    order = await orders.get(order_id, access)
    view = await returns.request(order, body, key or str(uuid.uuid4()), user_id or "guest")
    if len(view.history) > 1:
        response.status_code = 200
    return view


@router.get("/orders/{order_id}/returns", response_model=list[ReturnView])
async def order_returns(
    order_id: OrderIdPath,
    orders: Orders,
    returns: Returns,
    user_id: UserId = None,
    email: OwnerEmail = None,
) -> list[ReturnView]:
    access = None if user_id is None and email is None else Access(user_id=user_id, email=email)
    return await returns.of_order(await orders.get(order_id, access))


@router.post("/returns", status_code=201, response_model=ReturnView)
async def staff_return(
    body: StaffReturnIn,
    orders: Orders,
    returns: Returns,
    by: str = "staff",
    key: IdempotencyKey = None,
) -> ReturnView:
    """A return opened by staff for the customer (same rules: window, quantities)."""
    order = await orders.get(body.order_id)
    return await returns.request(order, body, key or str(uuid.uuid4()), by)


@router.get("/returns", response_model=ReturnPage)
async def list_returns(
    returns: Returns,
    status: ReturnStatus | None = None,
    order_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    page: Page = 1,
    limit: Limit = 20,
) -> ReturnPage:
    return await returns.list_returns(status, order_id, page, limit)


@router.get("/returns/{return_id}", response_model=ReturnView)
async def get_return(return_id: ReturnIdPath, returns: Returns) -> ReturnView:
    return await returns.get(return_id)


@router.put("/returns/{return_id}/approve", response_model=ReturnView)
async def approve(
    return_id: ReturnIdPath,
    returns: Returns,
    by: str = "staff",
    body: ReturnDecisionIn | None = None,
) -> ReturnView:
    """Approve: a return label (customer → warehouse) is booked with the carrier."""
    return await returns.approve(return_id, by, body.reason if body else "")


@router.put("/returns/{return_id}/reject", response_model=ReturnView)
async def reject(
    return_id: ReturnIdPath, body: ReturnDecisionIn, returns: Returns, by: str = "staff"
) -> ReturnView:
    """Reject with a reason (required): the units can be returned again later."""
    return await returns.reject(return_id, body.reason, by)


async def on_support_events(
    request: Request, cloud_event: dict[str, Any] = Body(...)
) -> dict[str, str]:
    """support-events: keep the staff list of returns; label an approved return."""
    returns: ReturnsService = request.app.state.returns
    handler = returns.on_support_event
    types = ("ReturnRequested", "ReturnApproved", "ReturnRejected", "ReturnReceived")
    return await dispatch(cloud_event, {t: handler for t in (*types, "ReturnRefunded")})
