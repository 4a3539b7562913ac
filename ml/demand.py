"""Reproducible daily sales per SKU for the forecast and pricing pipelines (fixed seeds).

The SKUs are the first products of the catalog's own generator (`apps/catalog/seed.py`, the
catalog `./taskw up` loads), so forecasts and price suggestions are for SKUs that exist.
What pipelines see (`sales.csv`: date, SKU, price, units sold, stock-out flag; `costs.csv`:
the unit cost the shop pays, a business fact) is kept apart from the generator's truth
(`demand_truth.csv`: base demand, price elasticity, trend and weekend lift per SKU).

Patterns:
- level: log-normal base demand per SKU (a few best sellers, a long tail);
- trend: a per-SKU growth or decline of up to ±40 % a year;
- weekly seasonality: weekends sell more (category-dependent strength);
- holidays: Black Friday and Cyber Monday (x3), the Christmas run-up (x1.6), a mid-July sale
  event (x1.8): calendar facts a model may know in advance;
- price elasticity: units scale with (price / list price)^elasticity, elasticity per SKU
  between -0.6 and -3.0 (cheaper accessories more elastic); promotions cut the price by
  10-30 % for a week at random, and list prices change a few times;
- stock-outs: short runs of days with no stock, where sales are 0 whatever the demand (the
  pipelines must not learn "0" as demand);
- noise: negative binomial around the expected demand.
"""

import csv
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from apps.catalog import seed as catalog_seed
from apps.forecast.features import CALENDAR

SEED = 4242
START = date(2024, 11, 1)
DAYS = 730
DEFAULT_SKUS = 120


@dataclass
class SaleDay:
    date: str
    sku: str
    product_id: str
    category_slug: str
    list_price: float
    price: float
    units: int
    stock_out: int
    holiday: float  # the shop's event calendar uplift (1.0 on ordinary days)


@dataclass
class SkuTruth:
    sku: str
    base_demand: float
    elasticity: float
    trend_per_year: float
    weekend_lift: float


@dataclass
class SkuCost:
    sku: str
    category_slug: str
    unit_cost: float


def generate(
    n_skus: int = DEFAULT_SKUS, days: int = DAYS, seed: int = SEED
) -> tuple[list[SaleDay], list[SkuTruth], list[SkuCost]]:
    rng = np.random.default_rng(seed)
    products = list(catalog_seed.products(count=n_skus))
    rows: list[SaleDay] = []
    truths: list[SkuTruth] = []
    costs: list[SkuCost] = []
    calendar = [START + timedelta(days=d) for d in range(days)]
    holidays = np.array([CALENDAR(d) for d in calendar])
    weekend = np.array([d.weekday() >= 5 for d in calendar])
    for product in products:
        variant = product.variants[0]
        list_price = float(product.price.amount + variant.price_adjustment)
        base = float(np.exp(rng.normal(1.0, 0.9)))
        elasticity = float(-0.6 - 2.4 * rng.beta(2, 2) * (1.3 if list_price < 60 else 0.9))
        elasticity = max(elasticity, -3.0)
        trend = float(rng.uniform(-0.4, 0.4))
        lift = float(rng.uniform(1.05, 1.6))
        truths.append(
            SkuTruth(
                sku=variant.sku,
                base_demand=round(base, 4),
                elasticity=round(elasticity, 4),
                trend_per_year=round(trend, 4),
                weekend_lift=round(lift, 4),
            )
        )
        costs.append(
            SkuCost(
                sku=variant.sku,
                category_slug=product.category_slug,
                unit_cost=round(list_price * float(rng.uniform(0.45, 0.7)), 2),
            )
        )
        prices = _price_path(rng, list_price, days)
        stock_out = _stock_outs(rng, days)
        t = np.arange(days) / 365.0
        expected = (
            base
            * (1 + trend * t)
            * np.where(weekend, lift, 1.0)
            * holidays
            * (prices[1] / prices[0]) ** elasticity
        )
        dispersion = 4.0
        units = rng.negative_binomial(dispersion, dispersion / (dispersion + expected))
        units = np.where(stock_out, 0, units)
        for d in range(days):
            rows.append(
                SaleDay(
                    date=calendar[d].isoformat(),
                    sku=variant.sku,
                    product_id=product.product_id,
                    category_slug=product.category_slug,
                    list_price=round(float(prices[0][d]), 2),
                    price=round(float(prices[1][d]), 2),
                    units=int(units[d]),
                    stock_out=int(stock_out[d]),
                    holiday=float(holidays[d]),
                )
            )
    return rows, truths, costs


def _price_path(rng: np.random.Generator, list_price: float, days: int) -> np.ndarray:
    """[list price, selling price] per day: a few list changes, week-long promotions."""
    listed = np.full(days, list_price)
    for _ in range(int(rng.integers(0, 3))):
        start = int(rng.integers(30, days))
        listed[start:] *= float(rng.uniform(0.9, 1.12))
    selling = listed.copy()
    for _ in range(int(rng.integers(4, 10))):
        start = int(rng.integers(0, days - 7))
        selling[start : start + 7] = listed[start : start + 7] * (1 - float(rng.uniform(0.1, 0.3)))
    return np.vstack([listed, selling])


def _stock_outs(rng: np.random.Generator, days: int) -> np.ndarray:
    out = np.zeros(days, dtype=bool)
    for _ in range(int(rng.integers(0, 4))):
        start = int(rng.integers(0, days - 10))
        out[start : start + int(rng.integers(2, 9))] = True
    return out


def write(out: Path, n_skus: int = DEFAULT_SKUS, days: int = DAYS, seed: int = SEED) -> Path:
    rows, truths, costs = generate(n_skus, days, seed)
    out.mkdir(parents=True, exist_ok=True)
    files = (("sales.csv", rows), ("demand_truth.csv", truths), ("costs.csv", costs))
    for name, items in files:
        records = [asdict(r) for r in items]
        with (out / name).open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(records[0]))
            writer.writeheader()
            writer.writerows(records)
    return out / "sales.csv"
