"""Forecast features, history extension by live sales, reorder arithmetic (no Dapr)."""

import math
from datetime import date, timedelta
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest
from pydantic import ValidationError

from apps.contracts.forecast import ForecastRequest
from apps.forecast.features import CALENDAR, FEATURES, History, features
from apps.forecast.model import DayForecast, ForecastModel, ModelError
from apps.forecast.service import extend

START = date(2026, 1, 5)  # a Monday


def history(days: int = 56, units: float = 2.0) -> History:
    return History(START, np.full(days, units), np.zeros(days, dtype=bool), np.full(days, 10.0))


def test_features_use_in_stock_days_and_the_target_weekday() -> None:
    h = history()
    h.units[-7:] = [0, 0, 0, 0, 0, 0, 9]  # last day (a Sunday) sold 9
    h.stock_out[-7:-1] = True  # the zeros were stock-outs: no signal of demand
    rows = features(h, np.array([7, 1]), np.array([10.0, 5.0]), CALENDAR)
    f7, f1 = (dict(zip(FEATURES, r, strict=True)) for r in rows)
    assert f7["level_7"] == 9.0  # only the in-stock day counts
    assert f7["same_weekday_4"] == pytest.approx((9 + 2 + 2 + 2) / 4)  # Sundays
    assert f7["weekday"] == 6.0 and f7["weekend"] == 1.0
    assert f1["weekday"] == 0.0 and f1["same_weekday_4"] == 2.0  # Mondays, all in stock
    assert f1["price_ratio"] == pytest.approx(0.5) and f1["horizon"] == 1.0


def test_calendar_knows_black_friday_and_christmas() -> None:
    assert CALENDAR(date(2026, 11, 27)) == 3.0  # Black Friday 2026
    assert CALENDAR(date(2026, 11, 30)) == 3.0  # Cyber Monday
    assert CALENDAR(date(2026, 12, 15)) == 1.6
    assert CALENDAR(date(2026, 12, 25)) == 1.0


def test_live_days_extend_the_history_with_zeros_between() -> None:
    base = history(30)
    after = base.end + timedelta(days=3)
    extended = extend(base, {after: 4, base.end - timedelta(days=2): 99})
    assert extended is not None and extended.end == after
    assert list(extended.units[-3:]) == [0.0, 0.0, 4.0]
    assert extended.units[-5] == 2.0  # a live day inside the shipped period is not added
    only_live = extend(None, {START: 1, START + timedelta(days=2): 3})
    assert only_live is not None and list(only_live.units) == [1.0, 0.0, 3.0]
    assert extend(None, {}) is None


def test_reorder_point_covers_the_service_level() -> None:
    # Each day: expected 10, 80 % interval 10 +- 1.2816 (sigma 1): 4 days -> sigma 2.
    z80 = NormalDist().inv_cdf(0.9)
    days = [DayForecast(START, 10.0, 10 - z80, 10 + z80) for _ in range(7)]
    r = ForecastModel.replenishment(days, lead_time=4, service_level=0.95)
    assert r.lead_time_demand == pytest.approx(40.0)
    assert r.safety_stock == pytest.approx(NormalDist().inv_cdf(0.95) * 2.0)
    assert r.reorder_point == pytest.approx(40.0 + r.safety_stock)
    assert math.isclose(ForecastModel.replenishment(days, 4, 0.5).safety_stock, 0.0, abs_tol=1e-9)


@pytest.mark.parametrize(
    "bad",
    [{"horizon_days": 0}, {"horizon_days": 29}, {"service_level": 1.0}, {"planned_price": -1}],
)
def test_bad_requests_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ForecastRequest.model_validate({"sku": "SKU-1", **bad})


def test_missing_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="taskw train"):
        ForecastModel.load(tmp_path)
