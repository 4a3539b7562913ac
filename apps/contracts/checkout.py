"""Checkout wire models: the saga's input and its status as the shopper sees it."""

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from apps.contracts.catalog import Id
from apps.contracts.orders import Address, OrderLine, Totals


class CheckoutItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: Id
    variant_id: Id | None = Field(default=None, description="the product's first variant if absent")
    quantity: int = Field(ge=1, le=100)


class OrderRequest(BaseModel):
    """`POST /api/orders` (guest checkout in this issue; the cart feeds it later)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr
    items: Annotated[list[CheckoutItem], Field(min_length=1, max_length=100)]
    shipping_address: Address | None = None
    billing_address: Address | None = None


class CheckoutInput(OrderRequest):
    """Workflow input: the request plus the ids fixed before the saga starts."""

    order_id: Id
    correlation_id: Annotated[str, Field(min_length=1, max_length=200)]
    user_id: Id | None = None


class PricedOrder(BaseModel):
    lines: list[OrderLine]
    totals: Totals


class CheckoutStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    TERMINATED = "terminated"
    PENDING = "pending"
    SUSPENDED = "suspended"
    UNKNOWN = "unknown"


class CheckoutAccepted(BaseModel):
    order_id: str
    status_url: str
    checkout_url: str


class CheckoutState(BaseModel):
    order_id: str
    status: CheckoutStatus
    result: dict[str, Any] | None = None
    failure: str | None = None
    created_at: str | None = None
    last_updated_at: str | None = None
