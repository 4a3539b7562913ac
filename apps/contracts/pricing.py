"""Price suggestion wire models (the pricing app, invoked through Dapr; staff use it
through backoffice later)."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from apps.contracts.catalog import Sku


class SuggestRequest(BaseModel):
    """`POST /suggest`: the margin-maximising price for one SKU within guardrails."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku
    current_price: Annotated[float, Field(gt=0, le=1_000_000)] | None = Field(
        None, description="default: the latest selling price in the sales history"
    )
    unit_cost: Annotated[float, Field(gt=0, le=1_000_000)] | None = Field(
        None, description="default: the shop's recorded cost of the SKU"
    )
    min_margin: float = Field(0.15, ge=0, lt=1, description="(price - cost) / price at least")
    max_change: float = Field(0.10, gt=0, le=0.5, description="largest move per step, +/-")


class Elasticity(BaseModel):
    value: float = Field(description="% change in units for a 1 % change in price")
    source: Literal["sku", "category", "blend"]
    sku_estimate: float | None
    category_estimate: float
    promo_days: int = Field(description="days at a promotional price behind the SKU estimate")


class SuggestResponse(BaseModel):
    sku: str
    model_version: str
    current_price: float
    suggested_price: float
    change: float = Field(description="relative change, e.g. 0.05 = +5 %")
    unit_cost: float
    elasticity: Elasticity
    expected_daily_units: dict[str, float] = Field(description="at the current and suggested price")
    expected_daily_margin: dict[str, float]
    binding: list[str] = Field(description="guardrails that limited the suggestion")
    explanation: str
