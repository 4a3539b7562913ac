"""Estimate price elasticities from sales history and report their quality (`./taskw train`).

Per SKU: a Poisson regression (scikit-learn) of daily units on log(selling / list price)
with the weekday, the event calendar and time as controls, in-stock days only; the
coefficient of log price is the elasticity. Per category: the median of its SKUs. Served:
each SKU's estimate shrunk toward its category's by the number of promotion days behind it
(`apps/pricing/domain.blend`). Quality (the generator knows the true elasticities, the
pipeline never reads them except here, to score itself): mean absolute error of the served
elasticities against the truth, against a naive log-log fit without controls; and the true
margin change of following the suggestions (evaluated on the true demand curves).
Writes models/pricing/{model.json, metrics.json}.
"""

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, PoissonRegressor

from apps.platform.models import usable
from apps.pricing.domain import blend, suggest
from apps.pricing.service import MODEL_FORMAT
from ml import artifacts, demand
from ml.datagen import DATA_DIR

ROOT = Path(__file__).resolve().parents[2]
MODEL_DIR = ROOT / "models" / "pricing"
RECENT_DAYS = 28
EXPECTED = {"format": MODEL_FORMAT}
PARAMS: dict[str, Any] = {"alpha": 1e-4, "prior_days": 30, "min_margin": 0.15, "max_change": 0.10}


def estimate(rows: pd.DataFrame, alpha: float) -> tuple[float, int]:
    """(elasticity, promotion days) of one SKU's in-stock days."""
    ratio = np.log(rows["price"].to_numpy() / rows["list_price"].to_numpy())
    day = pd.to_datetime(rows["date"])
    x = np.column_stack(
        [
            ratio,
            (day.dt.day_of_week >= 5).to_numpy(dtype=float),
            np.log(rows["holiday"].to_numpy()),
            (day - day.min()).dt.days.to_numpy() / 365.0,
        ]
    )
    fit = PoissonRegressor(alpha=alpha, max_iter=1000).fit(x, rows["units"].to_numpy())
    return float(fit.coef_[0]), int((ratio < -0.01).sum())


def naive(rows: pd.DataFrame) -> float:
    """log(units + 1) on log(price), no controls: what a spreadsheet would do."""
    x = np.log(rows["price"].to_numpy())[:, None]
    return float(LinearRegression().fit(x, np.log1p(rows["units"].to_numpy())).coef_[0])


def train(data_dir: Path, out: Path, params: dict[str, Any] = PARAMS) -> dict[str, Any]:
    started = time.perf_counter()
    sales = pd.read_csv(data_dir / "sales.csv")
    costs = pd.read_csv(data_dir / "costs.csv").set_index("sku")
    in_stock = sales[sales["stock_out"] == 0]
    per_sku: dict[str, dict[str, Any]] = {}
    naive_est: dict[str, float] = {}
    for sku, rows in in_stock.groupby("sku"):
        e, promo_days = estimate(rows, params["alpha"])
        per_sku[str(sku)] = {"sku_estimate": e, "promo_days": promo_days}
        naive_est[str(sku)] = naive(rows)
    category_of = costs["category_slug"].to_dict()
    by_category: dict[str, list[float]] = {}
    for sku, info in per_sku.items():
        by_category.setdefault(category_of[sku], []).append(info["sku_estimate"])
    category_e = {c: float(np.median(v)) for c, v in by_category.items()}
    for sku, info in per_sku.items():
        rows = in_stock[in_stock["sku"] == sku].tail(RECENT_DAYS)
        cat = category_e[category_of[sku]]
        e = blend(info["sku_estimate"], info["promo_days"], cat, params["prior_days"])
        ratio = (rows["price"] / rows["list_price"]).to_numpy()
        info.update(
            category=category_of[sku],
            category_estimate=cat,
            elasticity=e,
            base_units_at_list=float(np.mean(rows["units"].to_numpy() / ratio**e)),
            list_price=float(rows["list_price"].iloc[-1]),
            last_price=float(rows["price"].iloc[-1]),
            unit_cost=float(costs.loc[sku, "unit_cost"]),
        )
    metrics = _quality(data_dir, per_sku, naive_est, params)
    version = artifacts.version(
        f"pricing-m{MODEL_FORMAT}", [data_dir / "sales.csv", data_dir / "costs.csv"], params
    )
    metrics = {"model_version": version, **metrics, "params": params}
    metrics["train_seconds"] = round(time.perf_counter() - started, 1)
    _write(out, version, per_sku, category_e, metrics)
    return metrics


def _quality(
    data_dir: Path,
    per_sku: dict[str, dict[str, Any]],
    naive_est: dict[str, float],
    params: dict[str, Any],
) -> dict[str, Any]:
    truth = pd.read_csv(data_dir / "demand_truth.csv").set_index("sku")["elasticity"]
    skus = sorted(per_sku)
    true = np.array([truth[s] for s in skus])
    served = np.array([per_sku[s]["elasticity"] for s in skus])
    sku_only = np.array([per_sku[s]["sku_estimate"] for s in skus])
    spreadsheet = np.array([naive_est[s] for s in skus])
    uplifts = []
    for s, e_true in zip(skus, true, strict=True):
        info = per_sku[s]
        price = info["list_price"]
        units_now = info["base_units_at_list"]
        chosen = suggest(
            price,
            info["unit_cost"],
            units_now,
            info["elasticity"],
            params["min_margin"],
            params["max_change"],
        ).price
        # Judge the move on the true demand curve.
        true_now = (price - info["unit_cost"]) * units_now
        true_then = (chosen - info["unit_cost"]) * units_now * (chosen / price) ** e_true
        uplifts.append(true_then / true_now - 1 if true_now > 0 else 0.0)
    up = np.array(uplifts)
    return {
        "skus": len(skus),
        "elasticity_mae": {
            "served_blend": round(float(np.mean(np.abs(served - true))), 4),
            "sku_regression_only": round(float(np.mean(np.abs(sku_only - true))), 4),
            "baseline_naive_loglog": round(float(np.mean(np.abs(spreadsheet - true))), 4),
        },
        "elasticity_correlation": round(float(np.corrcoef(served, true)[0, 1]), 4),
        "suggestions_on_true_demand": {
            "mean_margin_change": round(float(up.mean()), 4),
            "share_improving": round(float((up > 0).mean()), 4),
            "worst": round(float(up.min()), 4),
        },
    }


def _write(
    out: Path,
    version: str,
    per_sku: dict[str, dict[str, Any]],
    categories: dict[str, float],
    metrics: dict[str, Any],
) -> None:
    meta = {"version": version, **EXPECTED, "skus": per_sku, "categories": categories}
    artifacts.write_model_dir(out, meta, metrics)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument("--if-missing", action="store_true")
    args = parser.parse_args(argv)
    if args.if_missing and usable(args.out, "pricing", EXPECTED):
        print(f"pricing model present in {args.out}")
        return
    if not (args.data / "costs.csv").exists():
        demand.write(args.data)
    m = train(args.data, args.out)
    mae, s = m["elasticity_mae"], m["suggestions_on_true_demand"]
    print(
        f"pricing {m['model_version']} in {m['train_seconds']} s: elasticity MAE "
        f"{mae['served_blend']} (naive log-log {mae['baseline_naive_loglog']}); suggestions "
        f"change true margin by {s['mean_margin_change']:+.2%} on average, improve "
        f"{s['share_improving']:.0%} of SKUs"
    )


if __name__ == "__main__":
    main()
