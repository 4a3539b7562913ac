"""Returns (seed 004 "Return Management"): a customer sends back some units of a delivered
order; staff approve or reject; an approved return travels back with the carrier; once it is
received its units go back in stock and the refund is issued, once.

A return lives inside its order (OrderActor state, `Order.returns`): quantities and the
return window are checked in the order's own turn, so two requests at once cannot return
more than was bought. Events go on `support-events`.
"""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from apps.contracts.catalog import Id, Sku
from apps.contracts.email import Email
from apps.contracts.events import EventPayload
from apps.contracts.money import Amount
from apps.contracts.names import Topic
from apps.contracts.schema import StrippedInput

ReturnId = Annotated[str, Field(pattern=r"^ret-[A-Za-z0-9_.:-]{1,120}$")]


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    RECEIVED = "received"  # back at the warehouse, stock restored
    REFUNDED = "refunded"


class ReturnReason(StrEnum):
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    NOT_AS_DESCRIBED = "not_as_described"
    NO_LONGER_NEEDED = "no_longer_needed"
    OTHER = "other"


class ReturnLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: Id
    variant_id: Id
    quantity: int = Field(ge=1, le=1000)
    reason: ReturnReason = ReturnReason.OTHER


class ReturnRequestIn(StrippedInput):
    """`POST /api/orders/{id}/returns` (guests add the order's email)."""

    lines: list[ReturnLineIn] = Field(min_length=1, max_length=200)
    comment: Annotated[str, Field(max_length=1000)] = ""
    email: Email | None = None


class StaffReturnIn(ReturnRequestIn):
    """`POST /api/staff/returns`: a return opened by staff for a customer."""

    order_id: Id


class ReturnDecisionIn(StrippedInput):
    """`PUT /api/staff/returns/{id}/reject` (a reason is required) or `/approve`."""

    reason: Annotated[str, Field(max_length=500)] = ""


class ReturnLine(BaseModel):
    product_id: str
    variant_id: str
    sku: Sku
    name: str
    quantity: int
    unit_price: Amount
    reason: ReturnReason


class ReturnEntry(BaseModel):
    status: ReturnStatus
    at: datetime
    by: str = "system"
    note: str = ""


class ReturnRecord(BaseModel):
    return_id: str
    order_id: str
    lines: list[ReturnLine]
    comment: str = ""
    status: ReturnStatus
    refund_amount: Amount = Field(description="goods (with their tax, after discounts)")
    shipping_refund: Amount = Decimal("0.00")
    requested_by: str = "customer"
    request_key: str = Field(default="", description="the request's idempotency key")
    rejection_reason: str = ""
    return_shipment_id: str | None = None
    refunded_amount: Amount = Decimal("0.00")
    history: list[ReturnEntry]
    created_at: datetime
    updated_at: datetime

    @property
    def total_refund(self) -> Decimal:
        return self.refund_amount + self.shipping_refund


# -- OrderActor payloads -------------------------------------------------------------------
class RequestReturn(BaseModel):
    """OrderActor `request_return`: `request_key` makes a retried request the same return."""

    model_config = ConfigDict(extra="forbid")

    request_key: Annotated[str, Field(min_length=1, max_length=200)]
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=200)
    comment: Annotated[str, Field(max_length=1000)] = ""
    requested_by: Annotated[str, Field(max_length=100)] = "customer"


class DecideReturn(BaseModel):
    """OrderActor `decide_return` (staff)."""

    model_config = ConfigDict(extra="forbid")

    return_id: ReturnId
    approve: bool
    reason: Annotated[str, Field(max_length=500)] = ""
    by: Annotated[str, Field(max_length=100)] = "staff"
    return_shipment_id: str | None = None


class ReturnProgress(BaseModel):
    """OrderActor `return_progress`: the return came back (`received`) or was refunded."""

    model_config = ConfigDict(extra="forbid")

    return_id: ReturnId
    status: ReturnStatus
    refunded_amount: Amount | None = None


class ReturnView(ReturnRecord):
    """A return with its order's identity (staff lists, notifications)."""

    order_number: str
    email: Email
    user_id: str | None = None


class ReturnPage(BaseModel):
    items: list[ReturnView]
    total: int
    page: int
    limit: int


# -- events (topic support-events) ---------------------------------------------------------
class ReturnEventData(EventPayload):
    TOPIC = Topic.SUPPORT_EVENTS

    return_id: str
    order_id: str
    order_number: str
    email: Email
    user_id: str | None = None
    status: ReturnStatus
    lines: list[ReturnLine]
    refund_amount: Amount
    shipping_refund: Amount = Decimal("0.00")
    reason: str = ""
    return_shipment_id: str | None = None
    at: datetime


class ReturnRequested(ReturnEventData):
    pass


class ReturnApproved(ReturnEventData):
    pass


class ReturnRejected(ReturnEventData):
    pass


class ReturnReceived(ReturnEventData):
    pass


class ReturnRefunded(ReturnEventData):
    """The return's refund went through payments (RefundProcessed follows on payment-events)."""
