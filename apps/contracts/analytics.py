"""Sales analytics (seed 004 "Staff Analytics Endpoints", issue 15): the shopper activity the
storefront hands to backoffice in batches, and the reports staff read.

Money is written as decimal strings like everywhere else; reports are computed in integer
cents, so a figure equals a recomputation from the orders to the cent.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from apps.contracts.catalog import Id
from apps.contracts.money import Amount

#: Events one batch may carry (the storefront flushes smaller batches than this).
MAX_BATCH_EVENTS = 5000
#: Events one beacon request from a client may carry.
MAX_BEACON_EVENTS = 50

SessionKey = Annotated[
    str,
    Field(
        min_length=3,
        max_length=100,
        pattern=r"^(u|g):[A-Za-z0-9_.:-]{1,97}$",
        description="`u:{user_id}` for a signed-in shopper, `g:{session}` for a guest",
    ),
]


class ActivityKind(StrEnum):
    PRODUCT_VIEW = "product_view"
    CART_ADD = "cart_add"
    CHECKOUT_START = "checkout_start"


class ActivityEvent(BaseModel):
    """One step of a shopper, as the storefront saw it (the time is the storefront's)."""

    model_config = ConfigDict(extra="forbid")

    session: SessionKey
    kind: ActivityKind
    product_id: Id | None = None
    at: datetime


class ActivityBatch(BaseModel):
    """`POST /activity` on backoffice (internal): what one storefront replica buffered.
    Idempotent by `batch_id`: a batch retried after a lost answer is counted once."""

    model_config = ConfigDict(extra="forbid")

    batch_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{7,99}$")]
    events: Annotated[list[ActivityEvent], Field(min_length=1, max_length=MAX_BATCH_EVENTS)]


class ActivityAccepted(BaseModel):
    batch_id: str
    events: int
    duplicate: bool = Field(description="the batch had been recorded already")


class BeaconEvent(BaseModel):
    """A step a client reports (`POST /api/activity`): the storefront adds who and when."""

    model_config = ConfigDict(extra="forbid")

    kind: ActivityKind
    product_id: Id | None = None


class Beacon(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: Annotated[list[BeaconEvent], Field(min_length=1, max_length=MAX_BEACON_EVENTS)]


class BeaconAccepted(BaseModel):
    accepted: int
    session: str = Field(description="the session the steps were counted under")


Granularity = Literal["day", "week", "month"]


class SalesFigures(BaseModel):
    """Paid orders of a period. `revenue` is what customers paid (order totals: goods, tax
    and shipping, after discounts); `refunds` what went back for those orders so far;
    `net` = revenue - refunds; `aov` = revenue / orders (half-up to the cent)."""

    orders: int = Field(ge=0)
    revenue: Amount
    refunds: Amount
    net: Decimal = Field(description="revenue - refunds (a decimal string)")
    aov: Amount
    items_sold: int = Field(ge=0)
    new_customers: int = Field(ge=0, description="customers whose first paid order it was")


class SalesPeriod(SalesFigures):
    period: str = Field(description="2026-03-01 (day), 2026-W09 (ISO week), 2026-03 (month)")
    start: date


class Change(BaseModel):
    """Relative change against the previous period, in percent (None when it had none)."""

    orders: float | None
    revenue: float | None
    refunds: float | None
    net: float | None
    aov: float | None


class SalesReport(BaseModel):
    start_date: date
    end_date: date
    granularity: Granularity
    currency: str
    totals: SalesFigures
    series: list[SalesPeriod]
    previous_start_date: date
    previous_end_date: date
    previous: SalesFigures
    change: Change


class TopProduct(BaseModel):
    product_id: str
    name: str
    category: str
    units: int
    revenue: Amount = Field(description="line totals of paid orders (before order discounts)")
    orders: int
    views: int = Field(description="product views in the period (shopper activity)")


class TopProducts(BaseModel):
    start_date: date
    end_date: date
    sort_by: Literal["sales", "revenue", "views"]
    items: list[TopProduct]


class CategorySales(BaseModel):
    category: str
    units: int
    revenue: Amount
    orders: int
    share: float = Field(description="share of the period's line revenue, percent")


class CategoryReport(BaseModel):
    start_date: date
    end_date: date
    items: list[CategorySales]


class FunnelStep(BaseModel):
    step: Literal["sessions", "product_views", "cart", "checkout", "paid"]
    count: int
    of_sessions: float | None = Field(description="percent of the period's sessions")
    of_previous: float | None = Field(description="percent of the step before")


class Conversion(BaseModel):
    """Distinct sessions that reached each step in the period; `paid` counts the period's
    paid orders (checkout completed). `conversion_rate` = paid / sessions, percent."""

    start_date: date
    end_date: date
    steps: list[FunnelStep]
    conversion_rate: float | None


class AnalyticsOverview(BaseModel):
    """The four reports of the staff analytics page for one period, in one answer (one trip
    through the gateway and two sidecars instead of four): sales by `granularity`, the top
    products by `sort_by`, revenue by category and the conversion funnel."""

    sales: SalesReport
    top_products: TopProducts
    categories: CategoryReport
    conversion: Conversion
