"""Demand forecast wire models (the forecast app, invoked through Dapr)."""

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from apps.contracts.catalog import Sku


class ForecastRequest(BaseModel):
    """`POST /forecast`: demand for the next days of one SKU, and when to reorder it."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku
    horizon_days: int = Field(14, ge=1, le=28, description="days to forecast (the model's range)")
    lead_time_days: int = Field(7, ge=1, le=28, description="days a reorder takes to arrive")
    service_level: float = Field(
        0.95, ge=0.5, le=0.999, description="chance that stock covers the lead time"
    )
    planned_price: Annotated[float, Field(gt=0, le=1_000_000)] | None = Field(
        None, description="the selling price for the period (default: the latest price)"
    )


class DayDemand(BaseModel):
    date: date
    expected: float
    low: float = Field(description="10th percentile")
    high: float = Field(description="90th percentile")


class ForecastResponse(BaseModel):
    sku: str
    model_version: str
    origin: date = Field(description="the last day of known sales; day 1 is the day after")
    history_days: int
    days: list[DayDemand]
    total_expected: float
    lead_time_days: int
    service_level: float
    lead_time_demand: float
    safety_stock: float
    reorder_point: float = Field(description="reorder when stock on hand falls to this")
