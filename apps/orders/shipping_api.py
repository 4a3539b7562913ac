"""Shipment routes of the orders app (through Dapr service invocation; the gateway's staff
routes `/api/staff/shipments/*` forward here), and its shipping-events subscriber."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel

from apps.contracts.orders import Order
from apps.contracts.shipping import (
    CarrierTracking,
    ContactCarrier,
    NotifyCustomer,
    Shipment,
    ShipmentPage,
    ShipmentStatus,
    StatusUpdate,
)
from apps.orders.fulfilment import FulfilmentService
from apps.platform.http import app_state
from apps.platform.params import IdempotencyKey, Limit, Page
from apps.platform.subscriptions import dispatch

router = APIRouter(tags=["shipments"])

Fulfilment = Annotated[FulfilmentService, Depends(app_state("fulfilment"))]
ShipmentIdPath = Annotated[str, Path(pattern=r"^shp-[A-Za-z0-9_.:-]{1,120}$")]


class NotificationQueued(BaseModel):
    event_id: str


@router.post("/orders/{order_id}/release", response_model=Order)
async def release(
    order_id: Annotated[str, Path(min_length=1, max_length=64)],
    fulfilment: Fulfilment,
    by: Annotated[str, Query(max_length=100)] = "staff",
) -> Order:
    """Send a paid order to the warehouse now instead of at the end of its hold (409 for an
    order that is not paid; one already released answers unchanged)."""
    return await fulfilment.release(order_id, by)


@router.get("/shipments", response_model=ShipmentPage)
async def list_shipments(
    fulfilment: Fulfilment,
    status: ShipmentStatus | None = None,
    carrier: Annotated[str | None, Query(min_length=1, max_length=60)] = None,
    order_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    page: Page = 1,
    limit: Limit = 20,
) -> ShipmentPage:
    """Newest first; by status, carrier and/or order."""
    return await fulfilment.list_shipments(status, carrier, order_id, page, limit)


@router.get("/shipments/{shipment_id}", response_model=Shipment)
async def get_shipment(shipment_id: ShipmentIdPath, fulfilment: Fulfilment) -> Shipment:
    return await fulfilment.get(shipment_id)


@router.put("/shipments/{shipment_id}/status", response_model=Shipment)
async def update_status(
    shipment_id: ShipmentIdPath,
    body: StatusUpdate,
    fulfilment: Fulfilment,
    key: IdempotencyKey = None,
) -> Shipment:
    """Set a status by hand (409 with the allowed next statuses when it cannot follow)."""
    return await fulfilment.update_status(shipment_id, body, key)


@router.get("/shipments/{shipment_id}/carrier-tracking", response_model=CarrierTracking)
async def carrier_tracking(shipment_id: ShipmentIdPath, fulfilment: Fulfilment) -> CarrierTracking:
    """What the carrier reports right now (not yet applied to the shipment)."""
    return await fulfilment.carrier_tracking(shipment_id)


@router.post("/shipments/{shipment_id}/contact-carrier", response_model=Shipment)
async def contact_carrier(
    shipment_id: ShipmentIdPath,
    body: ContactCarrier,
    fulfilment: Fulfilment,
    by: Annotated[str, Query(max_length=100)] = "staff",
) -> Shipment:
    """Open a case with the carrier; the case reference is kept in the shipment's issues."""
    return await fulfilment.contact_carrier(shipment_id, body, by)


@router.post(
    "/shipments/{shipment_id}/notify-customer",
    status_code=202,
    response_model=NotificationQueued,
)
async def notify_customer(
    shipment_id: ShipmentIdPath,
    body: NotifyCustomer,
    fulfilment: Fulfilment,
    key: IdempotencyKey = None,
) -> NotificationQueued:
    """Email the customer about this shipment (sent by notifications; once per key)."""
    return NotificationQueued(event_id=await fulfilment.notify_customer(shipment_id, body, key))


async def on_shipping_events(
    request: Request, cloud_event: dict[str, Any] = Body(...)
) -> dict[str, str]:
    """shipping-events: the shipment's view, and the order following its shipments."""
    fulfilment: FulfilmentService = request.app.state.fulfilment
    handler = fulfilment.on_shipping_event
    return await dispatch(
        cloud_event,
        {t: handler for t in ("ShipmentScheduled", "ShipmentStatusUpdated", "DeliveryCompleted")},
    )
