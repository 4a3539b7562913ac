"""The demand forecast as served: three gradient-boosting models over the same features
(`features.py`), trained across all SKUs: the expected units (Poisson loss) and the 10th and
90th percentiles (quantile loss), which give the 80 % interval and the spread that sizes the
safety stock.

Files in the model directory (written by `ml/forecast/train.py`): `mean.joblib`,
`q10.joblib`, `q90.joblib`, `history.npz` (each SKU's recent history, the starting point
for forecasts), `model.json`, `metrics.json`.
"""

import math
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from statistics import NormalDist
from typing import Any

import joblib
import numpy as np

from apps.forecast.features import CALENDAR, FEATURE_SCHEMA, FEATURES, History, features
from apps.platform.models import ModelError, read_meta

__all__ = ["ForecastModel", "ModelError"]

#: An 80 % interval spans 2 x 1.2816 standard deviations of a normal distribution.
Z_80 = NormalDist().inv_cdf(0.9)


@dataclass
class DayForecast:
    day: date
    expected: float
    low: float
    high: float


@dataclass
class Replenishment:
    lead_time_demand: float
    safety_stock: float
    reorder_point: float


@dataclass
class ForecastModel:
    version: str
    mean: Any
    q10: Any
    q90: Any

    def forecast(
        self, history: History, horizon: int, planned_price: float | None = None
    ) -> list[DayForecast]:
        horizons = np.arange(1, horizon + 1)
        price = planned_price if planned_price is not None else float(history.price[-1])
        x = features(history, horizons, np.full(horizon, price), CALENDAR)
        mean = np.maximum(self.mean.predict(x), 0.0)
        low = np.maximum(np.minimum(self.q10.predict(x), mean), 0.0)
        high = np.maximum(self.q90.predict(x), mean)
        return [
            DayForecast(history.end + timedelta(days=int(h)), float(m), float(lo), float(hi))
            for h, m, lo, hi in zip(horizons, mean, low, high, strict=True)
        ]

    @staticmethod
    def replenishment(
        days: list[DayForecast], lead_time: int, service_level: float
    ) -> Replenishment:
        """Demand over the lead time, and the safety stock that covers it with probability
        `service_level` (daily spread from the 80 % interval, days independent)."""
        window = days[:lead_time]
        demand = sum(d.expected for d in window)
        sigma = math.sqrt(sum(((d.high - d.low) / (2 * Z_80)) ** 2 for d in window))
        safety = NormalDist().inv_cdf(service_level) * sigma
        return Replenishment(demand, max(safety, 0.0), demand + max(safety, 0.0))

    @classmethod
    def load(cls, directory: Path) -> tuple["ForecastModel", dict[str, History]]:
        meta = read_meta(
            directory, "forecast", {"feature_schema": FEATURE_SCHEMA, "features": list(FEATURES)}
        )
        model = cls(
            version=str(meta["version"]),
            mean=joblib.load(directory / "mean.joblib"),
            q10=joblib.load(directory / "q10.joblib"),
            q90=joblib.load(directory / "q90.joblib"),
        )
        return model, load_histories(
            directory / "history.npz", date.fromisoformat(meta["history_start"])
        )


def save_histories(path: Path, histories: dict[str, History]) -> None:
    arrays: dict[str, np.ndarray] = {}
    for sku, h in histories.items():
        arrays[f"{sku}|units"] = h.units
        arrays[f"{sku}|out"] = h.stock_out
        arrays[f"{sku}|price"] = h.price
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


def load_histories(path: Path, start: date) -> dict[str, History]:
    data = np.load(path)
    skus = sorted({k.split("|", 1)[0] for k in data.files})
    return {
        sku: History(
            start,
            data[f"{sku}|units"].astype(float),
            data[f"{sku}|out"].astype(bool),
            data[f"{sku}|price"].astype(float),
        )
        for sku in skus
    }
