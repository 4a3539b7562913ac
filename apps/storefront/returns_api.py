"""Returns: the customer's `/api/orders/{id}/returns` and staff `/api/staff/returns/*`
(seed 004 "Return Management"), served by `orders`.

A customer returns units of their own delivered order within the return window (guests add
the order's email); staff open returns for customers, approve (a return label is booked) or
reject them. The refund follows when the parcel is back at the warehouse.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from apps.contracts.names import AppId
from apps.contracts.returns import (
    ReturnDecisionIn,
    ReturnPage,
    ReturnRequestIn,
    ReturnStatus,
    ReturnView,
    StaffReturnIn,
)
from apps.platform.params import IdempotencyKey, Limit, Page
from apps.storefront.adapters import forward, idempotency_header
from apps.storefront.auth import Caller, Staff
from apps.storefront.openapi import ERRORS
from apps.storefront.orders_api import Email, OrderId, owner_params

router = APIRouter(prefix="/api", responses=ERRORS)

ReturnId = Annotated[str, Path(pattern=r"^ret-[A-Za-z0-9_.:-]{1,120}$", max_length=124)]


@router.post(
    "/orders/{order_id}/returns", status_code=201, response_model=ReturnView, tags=["orders"]
)
async def request_return(
    order_id: OrderId,
    body: ReturnRequestIn,
    request: Request,
    caller: Caller,
    key: IdempotencyKey = None,
) -> Response:
    """Return units of a delivered order (per line: quantity and reason) within the return
    window. More than was bought (less earlier returns), an order not delivered or a window
    that closed is refused and changes nothing. Send an `Idempotency-Key`."""
    params = {"user_id": caller.user_id} if caller.signed_in else {}
    return await forward(
        request,
        AppId.ORDERS,
        f"orders/{order_id}/returns",
        method="POST",
        body=body.model_dump(mode="json"),
        params=params,
        extra_headers=idempotency_header(key),
    )


@router.get("/orders/{order_id}/returns", response_model=list[ReturnView], tags=["orders"])
async def order_returns(
    order_id: OrderId, request: Request, caller: Caller, email: Email = None
) -> Response:
    """The order's returns with their status and refund (same access rule as the order)."""
    return await forward(
        request, AppId.ORDERS, f"orders/{order_id}/returns", params=owner_params(caller, email)
    )


@router.post("/staff/returns", status_code=201, response_model=ReturnView, tags=["staff"])
async def staff_create_return(
    body: StaffReturnIn, request: Request, staff: Staff, key: IdempotencyKey = None
) -> Response:
    return await forward(
        request,
        AppId.ORDERS,
        "returns",
        method="POST",
        body=body.model_dump(mode="json"),
        params={"by": staff.user_id or "staff"},
        extra_headers=idempotency_header(key),
    )


@router.get("/staff/returns", response_model=ReturnPage, tags=["staff"])
async def staff_returns(
    request: Request,
    staff: Staff,
    status: ReturnStatus | None = None,
    order_id: Annotated[
        str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    ] = None,
    page: Page = 1,
    limit: Limit = 20,
) -> Response:
    params: dict[str, Any] = {"page": page, "limit": limit}
    if status:
        params["status"] = status.value
    if order_id:
        params["order_id"] = order_id
    return await forward(request, AppId.ORDERS, "returns", params=params)


@router.get("/staff/returns/{return_id}", response_model=ReturnView, tags=["staff"])
async def staff_return(return_id: ReturnId, request: Request, staff: Staff) -> Response:
    return await forward(request, AppId.ORDERS, f"returns/{return_id}")


@router.put("/staff/returns/{return_id}/approve", response_model=ReturnView, tags=["staff"])
async def approve_return(
    return_id: ReturnId, request: Request, staff: Staff, body: ReturnDecisionIn | None = None
) -> Response:
    """Approve: a return label from the customer to the warehouse is booked with the carrier."""
    return await forward(
        request,
        AppId.ORDERS,
        f"returns/{return_id}/approve",
        method="PUT",
        body=(body or ReturnDecisionIn()).model_dump(mode="json"),
        params={"by": staff.user_id or "staff"},
    )


@router.put("/staff/returns/{return_id}/reject", response_model=ReturnView, tags=["staff"])
async def reject_return(
    return_id: ReturnId, body: ReturnDecisionIn, request: Request, staff: Staff
) -> Response:
    """Reject with a `reason` (required)."""
    return await forward(
        request,
        AppId.ORDERS,
        f"returns/{return_id}/reject",
        method="PUT",
        body=body.model_dump(mode="json"),
        params={"by": staff.user_id or "staff"},
    )
