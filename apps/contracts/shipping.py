"""Shipments (seed 004 "Shipments Container"), ShipmentActor payloads and shipping events
(topic `shipping-events`).

ShipmentActor (type `ShipmentActor`, hosted by the `orders` app) is one actor per shipment,
called through the Dapr actor API with these JSON payloads:
`PUT /v1.0/actors/ShipmentActor/{shipment_id}/method/{create|update_status|poll|contact|get}`.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from apps.contracts.catalog import Id, Sku
from apps.contracts.email import Email
from apps.contracts.events import EventPayload
from apps.contracts.names import Topic
from apps.contracts.orders import Address
from apps.contracts.schema import StrippedInput

ShipmentId = Annotated[str, Field(pattern=r"^shp-[A-Za-z0-9_.:-]{1,120}$")]


class ShipmentStatus(StrEnum):
    LABEL_CREATED = "label_created"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    # exceptions
    DELAYED = "delayed"
    DELIVERY_FAILED = "delivery_failed"
    RETURNED_TO_SENDER = "returned_to_sender"
    CANCELLED = "cancelled"


class ServiceLevel(StrEnum):
    STANDARD = "standard"
    EXPRESS = "express"
    OVERNIGHT = "overnight"


class ShipmentLine(BaseModel):
    """Which order line (and how many of it) travels in this shipment."""

    model_config = ConfigDict(extra="forbid")

    product_id: Id
    variant_id: Id
    sku: Sku
    name: Annotated[str, Field(min_length=1, max_length=200)]
    quantity: int = Field(ge=1, le=1000)


class Package(BaseModel):
    model_config = ConfigDict(extra="forbid")

    package_id: Annotated[str, Field(min_length=1, max_length=64)]
    weight_kg: float = Field(gt=0, le=1000)
    lines: list[ShipmentLine] = Field(min_length=1, max_length=200)


class TrackingEvent(BaseModel):
    """One step of a shipment's status history (`event_id` is the carrier's, so a poll that
    sees the same step again adds nothing)."""

    model_config = ConfigDict(extra="forbid")

    event_id: Annotated[str, Field(min_length=1, max_length=200)]
    status: ShipmentStatus
    location: Annotated[str, Field(max_length=200)] = ""
    timestamp: datetime
    description: Annotated[str, Field(max_length=500)] = ""
    source: Literal["carrier", "staff", "system"] = "carrier"


class CarrierIssue(BaseModel):
    issue_id: str
    description: str
    carrier_reference: str
    opened_at: datetime
    opened_by: str = "staff"


class Shipment(BaseModel):
    """The ShipmentActor's state, and what staff and the tracking page read."""

    shipment_id: str
    order_id: str
    order_number: str
    user_id: str | None = None
    email: Email
    carrier: str
    service_level: ServiceLevel
    tracking_number: str
    tracking_url: str = ""
    status: ShipmentStatus
    origin: Address
    destination: Address
    estimated_delivery: datetime | None = None
    actual_delivery: datetime | None = None
    packages: list[Package]
    lines: list[ShipmentLine]
    events: list[TrackingEvent]
    current_location: str = ""
    issues: list[CarrierIssue] = Field(default_factory=list)
    kind: Literal["outbound", "return"] = "outbound"
    created_at: datetime
    updated_at: datetime
    version: int = Field(ge=1)


# -- ShipmentActor payloads ----------------------------------------------------------------
class CreateShipment(BaseModel):
    """ShipmentActor `create`: idempotent (creating an existing shipment returns it)."""

    model_config = ConfigDict(extra="forbid")

    shipment_id: ShipmentId
    order_id: Id
    order_number: str
    user_id: Id | None = None
    email: Email
    service_level: ServiceLevel = ServiceLevel.STANDARD
    destination: Address
    origin: Address | None = Field(
        default=None, description="where it is collected (default: the warehouse)"
    )
    lines: list[ShipmentLine] = Field(min_length=1, max_length=200)
    kind: Literal["outbound", "return"] = "outbound"
    correlation_id: Annotated[str, Field(min_length=1, max_length=200)]


class StatusUpdate(StrippedInput):
    """`PUT /api/staff/shipments/{id}/status` and ShipmentActor `update_status`."""

    status: ShipmentStatus
    location: Annotated[str, Field(max_length=200)] = ""
    notes: Annotated[str, Field(max_length=500)] = ""


class ContactCarrier(StrippedInput):
    """`POST /api/staff/shipments/{id}/contact-carrier`."""

    issue_description: Annotated[str, Field(min_length=3, max_length=2000)]


class NotifyCustomer(StrippedInput):
    """`POST /api/staff/shipments/{id}/notify-customer`: email the customer where the
    shipment is now (`status_update`), or that it is delayed (`delay`)."""

    notification_type: Literal["status_update", "delay"] = "status_update"
    message: Annotated[str, Field(max_length=1000)] = ""


class UpdateShipmentStatus(BaseModel):
    """ShipmentActor `update_status`: `event_id` makes a retried call a no-op."""

    model_config = ConfigDict(extra="forbid")

    update: StatusUpdate
    event_id: Annotated[str, Field(min_length=1, max_length=200)]


class OpenCarrierCase(BaseModel):
    """ShipmentActor `contact`: open a case with the carrier about this shipment."""

    model_config = ConfigDict(extra="forbid")

    request: ContactCarrier
    by: Annotated[str, Field(max_length=100)] = "staff"


class ShipmentError(BaseModel):
    code: Literal["CONFLICT", "RESOURCE_NOT_FOUND", "INVALID_REQUEST"]
    message: str
    current_status: ShipmentStatus | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class ShipmentReply(BaseModel):
    """Every ShipmentActor method answers with this (never an exception for a business
    outcome: the actor API would make it an opaque 500)."""

    ok: bool
    shipment: Shipment | None = None
    error: ShipmentError | None = None


class ShipmentPage(BaseModel):
    items: list[Shipment]
    total: int
    page: int
    limit: int


class CarrierTracking(BaseModel):
    """`GET /api/staff/shipments/{id}/carrier-tracking`: what the carrier says right now."""

    carrier: str
    tracking_number: str
    status: ShipmentStatus
    estimated_delivery: datetime | None
    events: list[TrackingEvent]


# -- events (topic shipping-events) --------------------------------------------------------
class ShipmentEventData(EventPayload):
    TOPIC = Topic.SHIPPING_EVENTS

    shipment_id: str
    order_id: str
    order_number: str
    user_id: str | None = None
    email: Email
    kind: Literal["outbound", "return"] = "outbound"
    carrier: str
    tracking_number: str
    tracking_url: str = ""
    status: ShipmentStatus
    previous_status: ShipmentStatus | None = None
    location: str = ""
    description: str = ""
    estimated_delivery: datetime | None = None
    lines: list[ShipmentLine]
    version: int
    at: datetime


class ShipmentScheduled(ShipmentEventData):
    pass


class ShipmentStatusUpdated(ShipmentEventData):
    pass


class DeliveryCompleted(ShipmentEventData):
    pass


class CustomerNotificationRequested(ShipmentEventData):
    """Staff asked to tell the customer about this shipment (`notify-customer`)."""

    notification_type: Literal["status_update", "delay"] = "status_update"
    message: str = ""
