"""`/api/orders/*`, `/api/users/me/orders` and staff order look-ups, served by `orders`.

Access: a signed-in customer sees their own orders; a guest sees an order with its id and
email; anyone else gets the 404 of a missing order. The owner's id sent to `orders` is the
one from the verified token, never from the request.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from apps.contracts.identity import Principal
from apps.contracts.names import AppId
from apps.contracts.orders import (
    CancelRequest,
    Order,
    OrderPage,
    OrderStatus,
    OrderSummary,
    Tracking,
)
from apps.platform.params import Limit, Page
from apps.storefront.adapters import forward
from apps.storefront.auth import Caller, Customer, Staff
from apps.storefront.openapi import ERRORS

router = APIRouter(prefix="/api", responses=ERRORS)

OrderId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
]
Email = Annotated[str | None, Query(min_length=3, max_length=254)]
Statuses = Annotated[list[OrderStatus] | None, Query(max_length=11)]


def owner_params(caller: Principal, email: str | None) -> dict[str, Any]:
    """The owner check `orders` applies: the token's user, else the email given. Neither
    matches nothing (a 404), so an anonymous caller without an email sees no order."""
    params: dict[str, Any] = {}
    if caller.signed_in:
        params["user_id"] = caller.user_id
    params["email"] = email or ""
    return params


@router.get("/users/me/orders", response_model=OrderPage, tags=["orders"])
async def my_orders(
    request: Request,
    customer: Customer,
    status: Statuses = None,
    page: Page = 1,
    limit: Limit = 20,
) -> Response:
    """The signed-in customer's orders, newest first (filter by one or more `status`)."""
    params: dict[str, Any] = {"user_id": customer.user_id, "page": page, "limit": limit}
    if status:
        params["status"] = [s.value for s in status]
    return await forward(request, AppId.ORDERS, "orders", params=params)


@router.get("/orders/{order_id}", response_model=Order, tags=["orders"])
async def get_order(
    order_id: OrderId, request: Request, caller: Caller, email: Email = None
) -> Response:
    """Your order when signed in; guests add the order's `email` (a wrong one is a 404)."""
    return await forward(
        request, AppId.ORDERS, f"orders/{order_id}", params=owner_params(caller, email)
    )


@router.get("/orders/{order_id}/tracking", response_model=Tracking, tags=["orders"])
async def track_order(
    order_id: OrderId, request: Request, caller: Caller, email: Email = None
) -> Response:
    """Where the order is, and each step it took (same access rule as the order)."""
    return await forward(
        request, AppId.ORDERS, f"orders/{order_id}/tracking", params=owner_params(caller, email)
    )


@router.post("/orders/{order_id}/cancel", response_model=Order, tags=["orders"])
async def cancel_order(
    order_id: OrderId, body: CancelRequest, request: Request, caller: Caller
) -> Response:
    """Cancel until the order ships (then 409 with its status); held stock is released.
    Guests include the order's `email` in the body."""
    params = {"user_id": caller.user_id} if caller.signed_in else {}
    payload = body.model_dump(mode="json")
    return await forward(
        request,
        AppId.ORDERS,
        f"orders/{order_id}/cancel",
        method="POST",
        body=payload,
        params=params,
    )


@router.get("/staff/orders", response_model=OrderPage, tags=["staff"])
async def staff_orders(
    request: Request,
    staff: Staff,
    status: Statuses = None,
    user_id: Annotated[str | None, Query(max_length=64)] = None,
    page: Page = 1,
    limit: Limit = 50,
) -> Response:
    """All orders, newest first; by status and/or customer."""
    params: dict[str, Any] = {"page": page, "limit": limit}
    if status:
        params["status"] = [s.value for s in status]
    if user_id:
        params["user_id"] = user_id
    return await forward(request, AppId.ORDERS, "orders", params=params)


@router.get("/staff/orders/by-number/{order_number}", response_model=OrderSummary, tags=["staff"])
async def staff_order_by_number(
    order_number: Annotated[str, Path(pattern=r"^SC-\d{4}-\d{6,}$")],
    request: Request,
    staff: Staff,
) -> Response:
    return await forward(request, AppId.ORDERS, f"orders/by-number/{order_number}")


@router.get("/staff/orders/{order_id}", response_model=Order, tags=["staff"])
async def staff_order(order_id: OrderId, request: Request, staff: Staff) -> Response:
    return await forward(request, AppId.ORDERS, f"orders/{order_id}")


@router.post("/staff/orders/{order_id}/release", response_model=Order, tags=["staff"])
async def release_order(order_id: OrderId, request: Request, staff: Staff) -> Response:
    """Send a paid order to the warehouse now rather than when its hold ends
    (`ORDERS_FULFILMENT_HOLD_SECONDS`); 409 for an order that is not paid."""
    return await forward(
        request,
        AppId.ORDERS,
        f"orders/{order_id}/release",
        method="POST",
        params={"by": staff.user_id or "staff"},
    )
