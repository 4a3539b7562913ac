"""Train the demand forecast and report it against seasonal-naive (`./taskw train`).

Data: ml/demand.py's daily sales (generated when missing). Training samples: every SKU, an
origin every 7 days, horizons 1-28, stock-out target days left out (censored: no stock, no
signal of demand). Hold-out: the last 28 days, forecast from the origin just before them.
Metrics there, over in-stock days: WAPE and MAPE (days with sales) of the model and of
seasonal-naive (the same weekday of the last week before the origin), and the share of
actual sales inside the 80 % interval (integer sales count as inside when
floor(low) <= units <= ceil(high)). The served model is then refit on every day with the
same parameters. Writes models/forecast/.
"""

import argparse
import time
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

from apps.forecast.features import (
    CALENDAR,
    FEATURE_SCHEMA,
    FEATURE_VERSION,
    FEATURES,
    MAX_HORIZON,
    History,
    features,
)
from apps.forecast.model import ForecastModel, save_histories
from apps.platform.models import usable
from ml import artifacts, demand
from ml.datagen import DATA_DIR

ROOT = Path(__file__).resolve().parents[2]
MODEL_DIR = ROOT / "models" / "forecast"
SEED = 3
EXPECTED = {"feature_schema": FEATURE_SCHEMA, "features": list(FEATURES)}
HISTORY_KEPT = 120  # days of history shipped with the model (forecast starting point)
PARAMS: dict[str, Any] = {
    "gbm": {"max_iter": 300, "learning_rate": 0.05, "max_leaf_nodes": 31, "min_samples_leaf": 40},
    "origin_every_days": 7,
    "first_origin_day": 60,
    "holdout_days": MAX_HORIZON,
}


def load_histories(path: Path) -> dict[str, History]:
    frame = pd.read_csv(path, parse_dates=["date"]).sort_values(["sku", "date"])
    start = frame["date"].min().date()
    histories = {}
    for sku, rows in frame.groupby("sku"):
        histories[str(sku)] = History(
            start,
            rows["units"].to_numpy(dtype=float),
            rows["stock_out"].to_numpy(dtype=bool),
            rows["price"].to_numpy(dtype=float),
        )
    return histories


def samples(
    histories: dict[str, History], last_origin: int, params: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    horizons = np.arange(1, MAX_HORIZON + 1)
    for h in histories.values():
        for origin in range(
            params["first_origin_day"], last_origin + 1, params["origin_every_days"]
        ):
            end = min(origin + MAX_HORIZON, len(h.units) - 1)
            hz = horizons[: end - origin]
            if len(hz) == 0:
                continue
            target = slice(origin + 1, origin + 1 + len(hz))
            x = features(h.until(origin), hz, h.price[target], CALENDAR)
            keep = ~h.stock_out[target]
            xs.append(x[keep])
            ys.append(h.units[target][keep])
    return np.vstack(xs), np.concatenate(ys)


def seasonal_naive(h: History, horizon: int) -> np.ndarray:
    """The same weekday of the last week before the origin."""
    last_week = h.units[-7:]
    return np.asarray([last_week[(d - 1) % 7] for d in range(1, horizon + 1)], dtype=float)


def wape(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.abs(actual - predicted).sum() / max(actual.sum(), 1e-9))


def mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    sold = actual > 0
    return float(np.mean(np.abs(actual[sold] - predicted[sold]) / actual[sold]))


def train(data: Path, out: Path, params: dict[str, Any] = PARAMS) -> dict[str, Any]:
    started = time.perf_counter()
    histories = load_histories(data)
    days = len(next(iter(histories.values())).units)
    origin = days - 1 - params["holdout_days"]  # the hold-out's forecast origin
    version = artifacts.version(f"forecast-f{FEATURE_VERSION}", [data], params)
    # Evaluated on a fit whose targets end before the hold-out...
    x, y = samples(histories, origin - MAX_HORIZON, params)
    model = _fit(version, x, y, params)

    actual, ours, naive, inside = [], [], [], []
    for h in histories.values():
        past = h.until(origin)
        target = slice(origin + 1, origin + 1 + MAX_HORIZON)
        planned = float(h.price[target].mean())  # the price plan for the period is known
        days_ahead = model.forecast(past, MAX_HORIZON, planned)
        keep = ~h.stock_out[target]
        a = h.units[target][keep]
        actual.append(a)
        ours.append(np.asarray([d.expected for d in days_ahead])[keep])
        naive.append(seasonal_naive(past, MAX_HORIZON)[keep])
        lo = np.asarray([d.low for d in days_ahead])[keep]
        hi = np.asarray([d.high for d in days_ahead])[keep]
        inside.append((a >= np.floor(lo)) & (a <= np.ceil(hi)))
    a, m, n = np.concatenate(actual), np.concatenate(ours), np.concatenate(naive)
    metrics = {
        "model_version": model.version,
        "feature_schema": FEATURE_SCHEMA,
        "held_out": {
            "origin": past.end.isoformat(),
            "days": MAX_HORIZON,
            "skus": len(histories),
            "in_stock_sku_days": len(a),
            "units": int(a.sum()),
        },
        "model": {
            "wape": round(wape(a, m), 4),
            "mape": round(mape(a, m), 4),
            "interval_80_coverage": round(float(np.concatenate(inside).mean()), 4),
        },
        "baseline_seasonal_naive": {"wape": round(wape(a, n), 4), "mape": round(mape(a, n), 4)},
        "training_rows": len(y),
        "params": params,
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    # ...then served from a refit on every day, with the same parameters.
    x_all, y_all = samples(histories, days - 1 - 1, params)
    metrics["served_model_training_rows"] = len(y_all)
    _write(out, _fit(version, x_all, y_all, params), metrics, histories)
    return metrics


def _fit(version: str, x: np.ndarray, y: np.ndarray, params: dict[str, Any]) -> ForecastModel:
    common = {"random_state": SEED, **params["gbm"]}
    return ForecastModel(
        version,
        HistGradientBoostingRegressor(loss="poisson", **common).fit(x, y),
        HistGradientBoostingRegressor(loss="quantile", quantile=0.1, **common).fit(x, y),
        HistGradientBoostingRegressor(loss="quantile", quantile=0.9, **common).fit(x, y),
    )


def _write(
    out: Path, model: ForecastModel, metrics: dict[str, Any], histories: dict[str, History]
) -> None:
    recent = {
        sku: History(
            h.start + pd.Timedelta(days=len(h.units) - HISTORY_KEPT).to_pytimedelta(),
            h.units[-HISTORY_KEPT:],
            h.stock_out[-HISTORY_KEPT:],
            h.price[-HISTORY_KEPT:],
        )
        for sku, h in histories.items()
    }

    def files(tmp: Path) -> None:
        for name in ("mean", "q10", "q90"):
            joblib.dump(getattr(model, name), tmp / f"{name}.joblib")
        save_histories(tmp / "history.npz", recent)

    first = next(iter(recent.values()))
    meta = {
        "version": model.version,
        **EXPECTED,
        "history_start": first.start.isoformat(),
        "history_end": first.end.isoformat(),
        "max_horizon": MAX_HORIZON,
    }
    artifacts.write_model_dir(out, meta, metrics, files)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA_DIR / "sales.csv")
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument("--if-missing", action="store_true")
    args = parser.parse_args(argv)
    if args.if_missing and usable(args.out, "forecast", EXPECTED):
        print(f"forecast model present in {args.out}")
        return
    if not args.data.exists():
        demand.write(args.data.parent)
    metrics = train(args.data, args.out)
    m, b = metrics["model"], metrics["baseline_seasonal_naive"]
    print(
        f"forecast {metrics['model_version']} in {metrics['train_seconds']} s: held-out WAPE "
        f"{m['wape']} (seasonal-naive {b['wape']}), MAPE {m['mape']} ({b['mape']}), "
        f"80 % interval coverage {m['interval_80_coverage']}"
    )


if __name__ == "__main__":
    main()
