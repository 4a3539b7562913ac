"""Inventory wire models: stock per SKU, reservations used by checkout, inventory events.

Reservation calls (`reserve`, `release`, `commit`) are idempotent by order id, so the
checkout saga can retry them freely.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from apps.contracts.catalog import Id, Sku
from apps.contracts.events import EventPayload
from apps.contracts.names import Topic

MAX_LINE_QUANTITY = 1000


class ReservationLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    quantity: int = Field(ge=1, le=MAX_LINE_QUANTITY)


class ReserveRequest(BaseModel):
    """Reserve every line or none."""

    model_config = ConfigDict(extra="forbid")

    order_id: Id
    lines: Annotated[list[ReservationLine], Field(min_length=1, max_length=100)]
    ttl_seconds: int | None = Field(
        default=None,
        ge=1,
        le=7 * 24 * 3600,
        description="the hold lapses after this unless committed (catalog default if absent)",
    )

    @model_validator(mode="after")
    def _unique_skus(self) -> "ReserveRequest":
        skus = [line.sku for line in self.lines]
        if len(set(skus)) != len(skus):
            raise ValueError("each SKU may appear once per reservation")
        return self


class ReservationStatus(StrEnum):
    RESERVED = "reserved"
    COMMITTED = "committed"
    RELEASED = "released"
    RESTOCKED = "restocked"  # committed units returned to stock (cancelled before shipping)
    EXPIRED = "expired"  # shown for a hold past its expiry; never stored


class Reservation(BaseModel):
    order_id: str
    lines: list[ReservationLine]
    status: ReservationStatus
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    reason: str = ""
    returned: dict[str, list[ReservationLine]] = Field(
        default_factory=dict, description="units back in stock per return id (after commit)"
    )


class ReturnStock(BaseModel):
    """`POST /inventory/{order_id}/returns` on catalog: units of a committed order that came
    back to the warehouse, put back on hand once per `return_id` (a retry answers the same
    reservation; more units than the order committed, less earlier returns, is a 409)."""

    model_config = ConfigDict(extra="forbid")

    return_id: Annotated[str, Field(pattern=r"^ret-[A-Za-z0-9_.:-]{1,120}$")]
    lines: list[ReservationLine] = Field(min_length=1, max_length=200)
    reason: Annotated[str, Field(min_length=1, max_length=300)] = "returned by the customer"


class StockAdjustment(BaseModel):
    """Staff stock change: either a delta or an absolute on-hand count."""

    model_config = ConfigDict(extra="forbid")

    delta: int | None = Field(default=None, ge=-10_000_000, le=10_000_000)
    on_hand: int | None = Field(default=None, ge=0, le=10_000_000)
    low_stock_threshold: int | None = Field(default=None, ge=0, le=1_000_000)
    reason: Annotated[str, Field(min_length=1, max_length=300)]

    @model_validator(mode="after")
    def _one_of(self) -> "StockAdjustment":
        if (self.delta is None) == (self.on_hand is None) and self.low_stock_threshold is None:
            raise ValueError("give exactly one of delta or on_hand (or a low_stock_threshold)")
        if self.delta is not None and self.on_hand is not None:
            raise ValueError("give delta or on_hand, not both")
        return self


class StockLevel(BaseModel):
    sku: str
    product_id: str
    variant_id: str
    on_hand: int
    reserved: int
    available: int
    low_stock_threshold: int


class StockLevelRow(StockLevel):
    low: bool = Field(description="available at or below the SKU's low-stock threshold")


class StockLevelPage(BaseModel):
    """`GET /inventory/levels` on catalog (internal: backoffice's restock list): every SKU's
    stock, by SKU; the next page starts after `next_after` (null: this was the last)."""

    items: list[StockLevelRow]
    total: int = Field(description="SKUs matching the filter in the whole catalog")
    next_after: str | None = None


class ProductInventory(BaseModel):
    product_id: str
    variants: list[StockLevel]
    available: int = Field(description="sum over variants of on hand minus active holds")


# -- events (topic inventory-events) ---------------------------------------------------------
class StockReserved(EventPayload):
    TOPIC = Topic.INVENTORY_EVENTS
    order_id: str
    lines: list[ReservationLine]
    expires_at: datetime


class StockReleased(EventPayload):
    TOPIC = Topic.INVENTORY_EVENTS
    order_id: str
    lines: list[ReservationLine]
    reason: str


class StockReturned(EventPayload):
    """Units of a delivered order came back and are on hand again (once per return)."""

    TOPIC = Topic.INVENTORY_EVENTS
    order_id: str
    return_id: str
    lines: list[ReservationLine]
    reason: str


class StockCommitted(EventPayload):
    TOPIC = Topic.INVENTORY_EVENTS
    order_id: str
    lines: list[ReservationLine]


class StockLevelChanged(EventPayload):
    TOPIC = Topic.INVENTORY_EVENTS
    sku: str
    product_id: str
    on_hand: int
    reserved: int
    available: int
    reason: str


class LowStock(EventPayload):
    TOPIC = Topic.INVENTORY_EVENTS
    sku: str
    product_id: str
    available: int
    low_stock_threshold: int
