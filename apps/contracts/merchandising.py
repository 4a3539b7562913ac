"""Merchandising wire models (backoffice, through the gateway's `/api/staff/merchandising/*`
and `/api/staff/fraud/reviews`): the restock list (stock, low-stock alerts, forecast and a
reorder quantity per SKU), price suggestions staff apply or dismiss, and the fraud review
queue. Also `FraudReviewRequested`, the event checkout publishes when fraud scoring holds an
order for review (the queue's source)."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from apps.contracts.catalog import Id, Sku
from apps.contracts.events import EventPayload
from apps.contracts.fraud import Contribution
from apps.contracts.money import Amount
from apps.contracts.names import Topic

Note = Annotated[str, Field(max_length=500)]
#: A price suggestion's id in a path.
SUGGESTION_ID_PATTERN = r"^psg-[A-Za-z0-9_.:-]{1,120}$"


# -- restock ------------------------------------------------------------------------------
class RestockAlert(BaseModel):
    """The catalog's `LowStock` for a SKU, kept until a `StockLevelChanged` shows the SKU
    above the threshold again; or (`source: stock_level`) a SKU the catalog's level shows at
    or below its threshold with no LowStock seen (e.g. seeded stock)."""

    available: int
    low_stock_threshold: int
    raised_at: datetime = Field(
        description="the event's time; for a stock_level alert, when the level was read"
    )
    source: Literal["event", "stock_level"] = "event"


class RestockForecast(BaseModel):
    """What the forecast app says of the SKU (see `apps/contracts/forecast.py`)."""

    model_version: str
    horizon_days: int
    total_expected: float = Field(description="expected units over the horizon")
    lead_time_days: int
    lead_time_demand: float
    safety_stock: float
    reorder_point: float


class RestockItem(BaseModel):
    sku: str
    product_id: str
    on_hand: int
    reserved: int
    available: int
    low_stock_threshold: int | None = Field(
        default=None, description="the catalog's, when it answered for this SKU"
    )
    alert: RestockAlert | None = None
    forecast: RestockForecast | None = None
    forecast_problem: str | None = Field(
        default=None, description="why there is no forecast (e.g. no sales history)"
    )
    suggested_reorder_quantity: int | None = Field(
        default=None,
        description="units to order now: up to reorder point + horizon demand, when "
        "available stock is at or below the reorder point (0 otherwise); none without forecast",
    )
    stock_at: datetime = Field(description="when the stock figures were last reported")


class RestockPage(BaseModel):
    items: list[RestockItem]
    page: int
    limit: int
    total: int


# -- price suggestions --------------------------------------------------------------------
class SuggestionStatus(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    DISMISSED = "dismissed"


class PriceSuggestionIn(BaseModel):
    """Ask the pricing model for a suggestion for one SKU of a product."""

    model_config = ConfigDict(extra="forbid")

    product_id: Id
    sku: Sku | None = Field(default=None, description="default: the product's first variant")
    min_margin: float = Field(0.15, ge=0, lt=1)
    max_change: float = Field(0.10, gt=0, le=0.5)


class PriceDrivers(BaseModel):
    """Why the model suggests this price."""

    elasticity: float
    elasticity_source: str
    unit_cost: float
    expected_daily_units: dict[str, float]
    expected_daily_margin: dict[str, float]
    binding: list[str]


class PriceSuggestion(BaseModel):
    suggestion_id: str
    product_id: str
    sku: str
    variant_id: str
    status: SuggestionStatus
    currency: str
    current_price: Amount = Field(description="the SKU's selling price when suggested")
    suggested_price: Amount
    change: float
    reason: str
    drivers: PriceDrivers
    model_version: str
    created_at: datetime
    created_by: str
    decided_at: datetime | None = None
    decided_by: str | None = None
    note: str = ""
    previous_price: Amount | None = Field(
        default=None, description="the catalog's selling price just before it was applied"
    )
    applied_price: Amount | None = None


class PriceDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note = ""


class PriceSuggestionPage(BaseModel):
    items: list[PriceSuggestion]
    page: int
    limit: int
    total: int


# -- fraud review queue -------------------------------------------------------------------
class FraudReviewRequested(EventPayload):
    """Checkout: fraud scoring held this order for staff review (event id
    `{order_id}:fraud-review`). The decision is `POST /api/staff/checkouts/{id}/review`;
    the order's next status on order-events says how it ended."""

    TOPIC = Topic.ORDER_EVENTS
    order_id: str
    email: str
    amount: Decimal
    currency: str
    probability: float
    model_version: str
    top_features: list[Contribution]
    at: datetime


class ReviewState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class FraudReviewItem(BaseModel):
    order_id: str
    state: ReviewState
    email: str
    amount: Amount
    currency: str
    probability: float
    model_version: str
    drivers: list[Contribution]
    held_at: datetime
    decided_at: datetime | None = None
    order_status: str | None = Field(
        default=None, description="the order's status that ended the review"
    )


class FraudReviewPage(BaseModel):
    items: list[FraudReviewItem]
    page: int
    limit: int
    total: int
