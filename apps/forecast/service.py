"""Forecasts for the shop's SKUs: the shipped history, extended by the sales the shop makes
(`OrderPaid` on order-events), forecast by the model. Dapr stays behind `LiveSales`."""

from datetime import date
from typing import Protocol

import numpy as np

from apps.contracts.errors import NotFound, UnprocessableError
from apps.contracts.events import EventEnvelope
from apps.contracts.forecast import DayDemand, ForecastRequest, ForecastResponse
from apps.contracts.orders import OrderPaid
from apps.forecast.features import MIN_HISTORY_DAYS, History
from apps.forecast.model import ForecastModel


class LiveSales(Protocol):
    async def daily(self, sku: str) -> dict[date, int]: ...

    async def record(self, event_id: str, day: date, units: dict[str, int]) -> None: ...


def extend(base: History | None, live: dict[date, int]) -> History | None:
    """The shipped history, followed by the shop's own days after it (a day without a sale
    is a 0: the shop was open). Live days inside the shipped period are not double counted."""
    if base is None and not live:
        return None
    if base is None:
        first = min(live)
        length = (max(live) - first).days + 1
        units = np.zeros(length)
        for day, qty in live.items():
            units[(day - first).days] = qty
        return History(first, units, np.zeros(length, dtype=bool), np.zeros(length))
    later = {d: q for d, q in live.items() if d > base.end}
    if not later:
        return base
    extra = (max(later) - base.end).days
    units = np.zeros(extra)
    for day, qty in later.items():
        units[(day - base.end).days - 1] = qty
    return History(
        base.start,
        np.concatenate([base.units, units]),
        np.concatenate([base.stock_out, np.zeros(extra, dtype=bool)]),
        np.concatenate([base.price, np.full(extra, base.price[-1])]),
    )


class ForecastService:
    def __init__(
        self, model: ForecastModel, histories: dict[str, History], live: LiveSales
    ) -> None:
        self.model = model
        self.histories = histories
        self.live = live

    async def forecast(self, req: ForecastRequest) -> ForecastResponse:
        history = extend(self.histories.get(req.sku), await self.live.daily(req.sku))
        if history is None:
            raise NotFound("No sales history for this SKU", sku=req.sku)
        if len(history.units) < MIN_HISTORY_DAYS:
            raise UnprocessableError(
                f"A forecast needs at least {MIN_HISTORY_DAYS} days of sales history",
                sku=req.sku,
                history_days=len(history.units),
            )
        if req.planned_price is None and history.price[-1] <= 0:
            raise UnprocessableError("Give a planned_price: this SKU has no price history")
        days = self.model.forecast(
            history, max(req.horizon_days, req.lead_time_days), req.planned_price
        )
        stock = self.model.replenishment(days, req.lead_time_days, req.service_level)
        shown = days[: req.horizon_days]
        return ForecastResponse(
            sku=req.sku,
            model_version=self.model.version,
            origin=history.end,
            history_days=len(history.units),
            days=[
                DayDemand(
                    date=d.day,
                    expected=round(d.expected, 3),
                    low=round(d.low, 3),
                    high=round(d.high, 3),
                )
                for d in shown
            ],
            total_expected=round(sum(d.expected for d in shown), 3),
            lead_time_days=req.lead_time_days,
            service_level=req.service_level,
            lead_time_demand=round(stock.lead_time_demand, 3),
            safety_stock=round(stock.safety_stock, 3),
            reorder_point=round(stock.reorder_point, 3),
        )

    async def on_order_paid(self, event: EventEnvelope) -> None:
        """Units sold per SKU on the day the order was paid (idempotent by event id)."""
        paid = OrderPaid.model_validate(event.data)
        units: dict[str, int] = {}
        for line in paid.items:
            units[line.sku] = units.get(line.sku, 0) + line.quantity
        await self.live.record(event.event_id, paid.at.date(), units)
