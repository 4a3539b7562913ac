"""Reproducible shopper behaviour for the recommendation pipeline (fixed seeds).

Products are the first ones of the catalog's own generator (`apps/catalog/seed.py`), so
recommendations name products that exist. What pipelines see (`interactions.csv`: day,
user, product, kind view/purchase) is kept apart from the generator's truth
(`taste_truth.csv`: each shopper's favourite categories and brand).

Patterns: item popularity is long-tailed; each shopper has two or three favourite
categories, a favourite brand and a hidden taste vector that matches items' hidden traits
(so people who bought the same things tend to buy the same next things); shoppers view
several items per session and buy some of what they viewed; tastes drift slowly (a new
favourite category now and then); some shoppers are new in the last month (cold start).
"""

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from apps.catalog import seed as catalog_seed

SEED = 777
DEFAULT_PRODUCTS = 1500
DEFAULT_USERS = 3000
DAYS = 180
TRAITS = 12


@dataclass
class Interaction:
    day: int
    user_id: str
    product_id: str
    kind: str  # "view" | "purchase"


@dataclass
class Taste:
    user_id: str
    categories: str
    brand: str


def generate(
    n_products: int = DEFAULT_PRODUCTS,
    n_users: int = DEFAULT_USERS,
    days: int = DAYS,
    seed: int = SEED,
) -> tuple[list[Interaction], list[Taste]]:
    rng = np.random.default_rng(seed)
    products = list(catalog_seed.products(count=n_products))
    ids = [p.product_id for p in products]
    cats = sorted({p.category_slug for p in products})
    cat_index = np.array([cats.index(p.category_slug) for p in products])
    brands = sorted({p.brand for p in products})
    brand_index = np.array([brands.index(p.brand) for p in products])
    popularity = rng.zipf(1.6, n_products).astype(float)
    popularity = np.log1p(np.minimum(popularity, 500))
    traits = rng.normal(0, 1, (n_products, TRAITS))
    cat_traits = rng.normal(0, 1, (len(cats), TRAITS))
    traits = 0.6 * traits + 0.8 * cat_traits[cat_index]  # items of a category share traits

    out: list[Interaction] = []
    tastes: list[Taste] = []
    for u in range(n_users):
        user = f"u{u:05d}"
        favourite = list(rng.choice(len(cats), int(rng.integers(2, 4)), replace=False))
        brand = int(rng.integers(len(brands)))
        taste = rng.normal(0, 1, TRAITS) + cat_traits[favourite].mean(axis=0)
        tastes.append(Taste(user, "|".join(cats[c] for c in favourite), brands[brand]))
        first_day = int(rng.integers(0, days)) if rng.random() < 0.15 else int(rng.integers(0, 30))
        sessions = int(rng.poisson(6)) + 1
        for day in np.sort(rng.integers(first_day, days, sessions)):
            if rng.random() < 0.03:  # tastes drift
                favourite[int(rng.integers(len(favourite)))] = int(rng.integers(len(cats)))
            score = (
                0.9 * popularity
                + 0.45 * traits @ taste / np.sqrt(TRAITS)
                + 1.6 * np.isin(cat_index, favourite)
                + 0.6 * (brand_index == brand)
            )
            p = np.exp(score - score.max())
            p /= p.sum()
            viewed = rng.choice(n_products, int(rng.integers(2, 8)), replace=False, p=p)
            for item in viewed:
                out.append(Interaction(int(day), user, ids[item], "view"))
            bought = [i for i in viewed if rng.random() < 0.25]
            for item in bought:
                out.append(Interaction(int(day), user, ids[item], "purchase"))
    out.sort(key=lambda r: (r.day, r.user_id))
    return out, tastes


def write(
    out: Path,
    n_products: int = DEFAULT_PRODUCTS,
    n_users: int = DEFAULT_USERS,
    seed: int = SEED,
) -> Path:
    rows, tastes = generate(n_products, n_users, DAYS, seed)
    out.mkdir(parents=True, exist_ok=True)
    for name, items in (("interactions.csv", rows), ("taste_truth.csv", tastes)):
        records = [asdict(r) for r in items]
        with (out / name).open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(records[0]))
            writer.writeheader()
            writer.writerows(records)
    return out / "interactions.csv"
