"""Forecast features: one function, used by training and serving alike.

A forecast is made at an origin day (the last day with known sales) for days origin+1 ..
origin+H. Features use only what is known at the origin: recent levels (stock-out days left
out: a day without stock says nothing about demand), the same weekday's recent values, the
trend, and for the target day its weekday, the shop's event calendar, the planned price
relative to recent prices, and the horizon.
"""

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

FEATURES: tuple[str, ...] = (
    "level_7",
    "level_28",
    "same_weekday_4",
    "trend_28_over_56",
    "weekday",
    "weekend",
    "holiday",
    "price_ratio",
    "horizon",
)
FEATURE_VERSION = 1
FEATURE_SCHEMA = hashlib.sha256(f"{FEATURE_VERSION}:{','.join(FEATURES)}".encode()).hexdigest()[:16]
MIN_HISTORY_DAYS = 28
MAX_HORIZON = 28


@dataclass
class History:
    """One SKU's daily history, oldest first, ending at the origin day."""

    start: date
    units: np.ndarray
    stock_out: np.ndarray  # bool
    price: np.ndarray

    @property
    def end(self) -> date:
        return self.start + timedelta(days=len(self.units) - 1)

    def until(self, index: int) -> "History":
        return History(
            self.start,
            self.units[: index + 1],
            self.stock_out[: index + 1],
            self.price[: index + 1],
        )


def _mean_in_stock(units: np.ndarray, out: np.ndarray) -> float:
    kept = units[~out]
    return float(kept.mean()) if len(kept) else 0.0


def features(
    history: History,
    horizons: np.ndarray,
    planned_prices: np.ndarray,
    holiday: "HolidayCalendar",
) -> np.ndarray:
    """Rows of FEATURES for each horizon (days after the history's last day)."""
    u, out, p = history.units, history.stock_out, history.price
    level7 = _mean_in_stock(u[-7:], out[-7:])
    level28 = _mean_in_stock(u[-28:], out[-28:])
    before = _mean_in_stock(u[-56:-28], out[-56:-28]) if len(u) >= 56 else level28
    trend = level28 / before if before > 0 else 1.0
    recent_price = float(p[-28:].mean()) if len(p) else 1.0
    rows = []
    for h, planned in zip(horizons, planned_prices, strict=True):
        target = history.end + timedelta(days=int(h))
        # The target's weekday in the last four weeks up to the origin.
        target_index = len(u) - 1 + int(h)
        first = -(-int(h) // 7)
        same = [target_index - 7 * (first + j) for j in range(4)]
        same_kept = [u[i] for i in same if i >= 0 and not out[i]]
        rows.append(
            [
                level7,
                level28,
                float(np.mean(same_kept)) if same_kept else level28,
                trend,
                float(target.weekday()),
                1.0 if target.weekday() >= 5 else 0.0,
                holiday(target),
                float(planned) / recent_price if recent_price > 0 else 1.0,
                float(h),
            ]
        )
    return np.asarray(rows, dtype=float)


class HolidayCalendar:
    """The shop's event calendar (a fact known in advance): an uplift factor per day."""

    def __call__(self, day: date) -> float:
        year = day.year
        nov1 = date(year, 11, 1)
        black_friday = nov1 + timedelta(days=(4 - nov1.weekday()) % 7 + 21)
        if day in (black_friday, black_friday + timedelta(days=3)):
            return 3.0
        if date(year, 12, 8) <= day <= date(year, 12, 22):
            return 1.6
        if date(year, 7, 15) <= day <= date(year, 7, 16):
            return 1.8
        return 1.0


CALENDAR = HolidayCalendar()
