"""`/api/staff/shipments/*` (seed 004 "Logistics Tracking"), served by `orders`' fulfilment.

Staff only. The customer's view of the same shipments is `GET /api/orders/{id}/tracking`.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from apps.contracts.names import AppId
from apps.contracts.shipping import (
    CarrierTracking,
    ContactCarrier,
    NotifyCustomer,
    Shipment,
    ShipmentPage,
    ShipmentStatus,
    StatusUpdate,
)
from apps.platform.params import IdempotencyKey, Limit, Page
from apps.storefront.adapters import forward, idempotency_header
from apps.storefront.auth import Staff
from apps.storefront.openapi import ERRORS

router = APIRouter(prefix="/api/staff/shipments", tags=["staff"], responses=ERRORS)

ShipmentId = Annotated[str, Path(pattern=r"^shp-[A-Za-z0-9_.:-]{1,120}$", max_length=124)]


@router.get("", response_model=ShipmentPage)
async def list_shipments(
    request: Request,
    staff: Staff,
    status: ShipmentStatus | None = None,
    carrier: Annotated[str | None, Query(min_length=1, max_length=60)] = None,
    order_id: Annotated[
        str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    ] = None,
    page: Page = 1,
    limit: Limit = 20,
) -> Response:
    """Shipments newest first, by status, carrier and/or order."""
    params: dict[str, Any] = {"page": page, "limit": limit}
    for name, value in (("status", status), ("carrier", carrier), ("order_id", order_id)):
        if value:
            params[name] = value
    return await forward(request, AppId.ORDERS, "shipments", params=params)


@router.get("/{shipment_id}", response_model=Shipment)
async def get_shipment(shipment_id: ShipmentId, request: Request, staff: Staff) -> Response:
    return await forward(request, AppId.ORDERS, f"shipments/{shipment_id}")


@router.put("/{shipment_id}/status", response_model=Shipment)
async def update_status(
    shipment_id: ShipmentId,
    body: StatusUpdate,
    request: Request,
    staff: Staff,
    key: IdempotencyKey = None,
) -> Response:
    """Set the status by hand (409 with the allowed next statuses if it cannot follow).
    Send an `Idempotency-Key` so a retry does not add a second history entry."""
    return await forward(
        request,
        AppId.ORDERS,
        f"shipments/{shipment_id}/status",
        method="PUT",
        body=body.model_dump(mode="json"),
        extra_headers=idempotency_header(key),
    )


@router.post("/{shipment_id}/notify-customer", status_code=202)
async def notify_customer(
    shipment_id: ShipmentId,
    body: NotifyCustomer,
    request: Request,
    staff: Staff,
    key: IdempotencyKey = None,
) -> Response:
    """Email the customer where the shipment is (or that it is delayed); once per key."""
    return await forward(
        request,
        AppId.ORDERS,
        f"shipments/{shipment_id}/notify-customer",
        method="POST",
        body=body.model_dump(mode="json"),
        extra_headers=idempotency_header(key),
    )


@router.get("/{shipment_id}/carrier-tracking", response_model=CarrierTracking)
async def carrier_tracking(shipment_id: ShipmentId, request: Request, staff: Staff) -> Response:
    """What the carrier reports right now."""
    return await forward(request, AppId.ORDERS, f"shipments/{shipment_id}/carrier-tracking")


@router.post("/{shipment_id}/contact-carrier", response_model=Shipment)
async def contact_carrier(
    shipment_id: ShipmentId, body: ContactCarrier, request: Request, staff: Staff
) -> Response:
    """Open a case with the carrier (its reference is kept in the shipment's `issues`)."""
    return await forward(
        request,
        AppId.ORDERS,
        f"shipments/{shipment_id}/contact-carrier",
        method="POST",
        body=body.model_dump(mode="json"),
        params={"by": staff.user_id or "staff"},
    )
