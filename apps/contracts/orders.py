"""Order wire models (seed 004 "Orders Container"), OrderActor payloads and order events.

The OrderActor is called through the Dapr actor API with these JSON payloads, so a service
in any language can drive it (schemas exported by `task schemas`).
"""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from apps.contracts.catalog import Id, Sku
from apps.contracts.email import Email
from apps.contracts.events import EventPayload
from apps.contracts.money import Amount, Currency
from apps.contracts.names import Topic
from apps.contracts.returns import ReturnRecord
from apps.contracts.schema import StrippedInput


class OrderStatus(StrEnum):
    PENDING = "pending"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    FULFILLING = "fulfilling"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    PAYMENT_FAILED = "payment_failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class Address(StrippedInput):
    name: Annotated[str, Field(min_length=1, max_length=120)]
    line1: Annotated[str, Field(min_length=1, max_length=200)]
    line2: Annotated[str, Field(max_length=200)] = ""
    city: Annotated[str, Field(min_length=1, max_length=100)]
    state: Annotated[str, Field(max_length=100)] = ""
    postal_code: Annotated[str, Field(min_length=1, max_length=20)]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    phone: Annotated[str, Field(max_length=30)] = ""


class OrderLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: Id
    variant_id: Id
    sku: Sku
    name: Annotated[str, Field(min_length=1, max_length=200)]
    quantity: int = Field(ge=1, le=1000)
    unit_price: Amount
    line_total: Amount


class Totals(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subtotal: Amount
    tax: Amount = Decimal("0.00")
    shipping: Amount = Decimal("0.00")
    discount: Amount = Decimal("0.00")
    total: Amount
    currency: Currency = "USD"


class CreateOrder(BaseModel):
    """OrderActor `create`. Idempotent: creating an existing order returns it unchanged."""

    model_config = ConfigDict(extra="forbid")

    order_id: Id
    order_number: Annotated[str, Field(pattern=r"^SC-\d{4}-\d{6,}$")]
    email: Email
    user_id: Id | None = None
    items: Annotated[list[OrderLine], Field(min_length=1, max_length=200)]
    totals: Totals
    shipping_address: Address | None = None
    billing_address: Address | None = None
    correlation_id: Annotated[str, Field(min_length=1, max_length=200)]
    payment_timeout_seconds: int | None = Field(
        default=None,
        ge=1,
        le=7 * 24 * 3600,
        description="Unpaid orders are cancelled after this; the orders app's default if absent",
    )


class TransitionRequest(BaseModel):
    """OrderActor `transition`. `transition_id` makes a retried call a no-op."""

    model_config = ConfigDict(extra="forbid")

    to: OrderStatus
    reason: Annotated[str, Field(max_length=500)] = ""
    transition_id: Annotated[str, Field(min_length=1, max_length=200)]
    actor: Annotated[str, Field(max_length=100)] = "system"
    refund_amount: Amount | None = None


class HistoryEntry(BaseModel):
    transition_id: str
    from_status: OrderStatus | None
    to_status: OrderStatus
    at: datetime
    reason: str = ""
    actor: str = "system"


class PlaceOrder(BaseModel):
    """`POST /orders` on orders (the checkout saga): an order without its number (the orders
    app allocates it). Idempotent by `order_id`."""

    model_config = ConfigDict(extra="forbid")

    order_id: Id
    email: Email
    user_id: Id | None = None
    items: list[OrderLine] = Field(min_length=1, max_length=200)
    totals: Totals
    shipping_address: Address | None = None
    billing_address: Address | None = None
    correlation_id: str = Field(min_length=1, max_length=200)
    payment_timeout_seconds: int | None = Field(default=None, ge=1, le=7 * 24 * 3600)


class Order(BaseModel):
    """The OrderActor's state, and what `get` returns."""

    order_id: str
    order_number: str
    email: Email
    user_id: str | None = None
    status: OrderStatus
    items: list[OrderLine]
    totals: Totals
    shipping_address: Address | None = None
    billing_address: Address | None = None
    refunded_amount: Amount = Decimal("0.00")
    cancel_reason: str = ""
    history: list[HistoryEntry]
    returns: list[ReturnRecord] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None = None
    correlation_id: str
    version: int = Field(ge=1, description="Incremented by every committed transition")


class OrderSummary(BaseModel):
    """An order in listings: the orders app's projection of order-events (actor state is
    not queryable). `version` is the order's; older events never overwrite newer ones."""

    order_id: str
    order_number: str
    user_id: str | None = None
    email: Email
    status: OrderStatus
    totals: Totals
    items: list[OrderLine]
    item_count: int
    created_at: datetime
    updated_at: datetime
    version: int
    refunded_amount: Amount = Field(
        default=Decimal("0.00"), description="refunded so far (returns, cancellations, staff)"
    )


class OrderPage(BaseModel):
    items: list[OrderSummary]
    total: int
    page: int
    limit: int


class TrackingEntry(BaseModel):
    status: OrderStatus
    at: datetime
    description: str


class ParcelEvent(BaseModel):
    status: str = Field(description="a shipment status, e.g. in_transit")
    location: str = ""
    timestamp: datetime
    description: str = ""


class ParcelTracking(BaseModel):
    """One shipment of the order as the customer sees it (`events` oldest first)."""

    shipment_id: str
    carrier: str
    tracking_number: str
    tracking_url: str = ""
    status: str
    estimated_delivery: datetime | None = None
    delivered_at: datetime | None = None
    current_location: str = ""
    events: list[ParcelEvent] = Field(default_factory=list)


class Tracking(BaseModel):
    """`GET /api/orders/{id}/tracking`: where the order is and how it got there."""

    order_id: str
    order_number: str
    status: OrderStatus
    cancellable: bool
    timeline: list[TrackingEntry]
    estimated_delivery: datetime | None = Field(
        default=None, description="the latest ETA of the order's shipments still travelling"
    )
    shipments: list[ParcelTracking] = Field(default_factory=list)


class CancelRequest(StrippedInput):
    """`POST /api/orders/{id}/cancel` (guests add the order's email)."""

    reason: Annotated[str, Field(max_length=500)] = ""
    email: Email | None = None


class ActorError(BaseModel):
    code: Literal["CONFLICT", "RESOURCE_NOT_FOUND", "INVALID_REQUEST"]
    message: str
    current_status: OrderStatus | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class ActorReply(BaseModel):
    """Every OrderActor method answers with this: the order, or why nothing changed.

    Actor methods never raise for business outcomes: the Dapr actor API would turn an
    exception into an opaque 500. Callers map `error.code` to HTTP statuses.
    """

    ok: bool
    order: Order | None = None
    error: ActorError | None = None
    return_id: str | None = Field(default=None, description="the return a returns call touched")


# -- events (topic order-events) -----------------------------------------------------------
class OrderEventData(EventPayload):
    TOPIC = Topic.ORDER_EVENTS

    order_id: str
    order_number: str
    email: Email
    user_id: str | None
    status: OrderStatus
    previous_status: OrderStatus | None
    reason: str = ""
    totals: Totals
    items: list[OrderLine]
    version: int
    at: datetime
    created_at: datetime | None = Field(default=None, description="when the order was placed")
    refunded_amount: Amount = Field(default=Decimal("0.00"), description="refunded so far")


class OrderCreated(OrderEventData):
    pass


class OrderStatusChanged(OrderEventData):
    pass


class OrderPaid(OrderEventData):
    pass


class OrderCancelled(OrderEventData):
    pass


class OrderPlaced(OrderEventData):
    """Published by the checkout saga once the order is paid, its stock committed and the
    cart cleared (event id `{order_id}:placed`)."""


class OrderCompleted(OrderEventData):
    pass


class CustomerHistory(BaseModel):
    """`GET /customers/{user_id}/history` on orders (internal): a signed-in customer's
    earlier orders as fraud scoring sees them (`exclude` leaves the order being scored out)."""

    user_id: str
    order_count: int = Field(ge=0, description="orders ever placed, whatever became of them")
    orders_last_24h: int = Field(ge=0)
    orders_last_7d: int = Field(ge=0)
    avg_order_amount: Decimal = Field(
        ge=0, description="mean total of the orders that were paid (0 without one)"
    )
    first_order_at: datetime | None = None
