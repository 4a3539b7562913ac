"""Train the recommender and report it against popularity (`./taskw train`).

Data: ml/interactions.py's views and purchases (generated when missing). Time-based
protocol: blend weights are chosen on days 120-149 (trained on days before 120), quality is
reported on the purchases of days 150-179 (trained on days before 150) for shoppers seen
before day 150: hit-rate@10 (a held-out purchase among the ten shown) and NDCG@10, for the
blend and for popularity (the most bought items the shopper has not bought). The served
model is then refit on every day. Writes models/recommendations/.
"""

import argparse
import itertools
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from apps.catalog import seed as catalog_seed
from apps.platform.models import usable
from apps.recommendations.model import MODEL_FORMAT, RecoModel, Weights
from ml import artifacts, interactions
from ml.datagen import DATA_DIR

ROOT = Path(__file__).resolve().parents[2]
MODEL_DIR = ROOT / "models" / "recommendations"
SEED = 5
PARAMS: dict[str, Any] = {
    "components": 48,
    "purchase_weight": 4.0,
    "validation_days": [120, 150],
    "test_from_day": 150,
    "weight_grid": {
        "collaborative": [0.5, 0.7, 0.9],
        "content": [0.1, 0.3],
        "popularity": [0.1, 0.3],
    },
}
K = 10
EXPECTED = {"format": MODEL_FORMAT}


def product_texts(item_ids: list[str]) -> list[str]:
    wanted = set(item_ids)
    texts: dict[str, str] = {}
    for p in catalog_seed.products(count=len(item_ids) * 2):
        if p.product_id in wanted:
            attrs = " ".join(f"{k}_{v}" for k, v in p.attributes.items())
            texts[p.product_id] = " ".join(
                [p.name, p.brand, p.category_slug.replace("-", " "), p.category_slug, attrs]
            )
        if len(texts) == len(wanted):
            break
    return [texts.get(i, "") for i in item_ids]


def matrix(
    events: pd.DataFrame, users: list[str], items: list[str], until: int, params: dict[str, Any]
) -> sparse.csr_matrix:
    e = events[events["day"] < until]
    weight = np.where(e["kind"] == "purchase", params["purchase_weight"], 1.0)
    u = pd.Categorical(e["user_id"], categories=users).codes
    i = pd.Categorical(e["product_id"], categories=items).codes
    m = sparse.coo_matrix((weight, (u, i)), shape=(len(users), len(items))).tocsr()
    m.data = np.log1p(m.data)
    return m


def fit(
    m: sparse.csr_matrix,
    content: sparse.csr_matrix,
    users: list[str],
    items: list[str],
    weights: Weights,
    params: dict[str, Any],
    version: str = "eval",
) -> RecoModel:
    svd = TruncatedSVD(n_components=params["components"], random_state=SEED).fit(m)
    return RecoModel(
        version=version,
        item_ids=items,
        factors=svd.components_.T.copy(),
        popularity=np.log1p(np.asarray(m.sum(axis=0))[0]),
        content=content,
        weights=weights,
        user_ids=users,
        user_rows=m,
    )


def evaluate(
    model: RecoModel, events: pd.DataFrame, start: int, end: int, popularity_only: bool = False
) -> dict[str, float]:
    purchases = events[events["kind"] == "purchase"]
    held = purchases[(purchases["day"] >= start) & (purchases["day"] < end)]
    before = purchases[purchases["day"] < start].groupby("user_id")["product_id"].agg(set)
    hits, ndcgs = [], []
    for user, rows in held.groupby("user_id"):
        n = model.user_index.get(str(user))
        if n is None:
            continue
        row = model.user_rows.getrow(n).toarray()[0]
        if not row.any():
            continue  # not seen before the period: cold start, reported apart
        truth = {model.index[p] for p in rows["product_id"] if p in model.index}
        bought_before = {model.index[p] for p in before.get(user, set())}
        if popularity_only:
            scores = model.popularity.astype(float).copy()
            scores[list(bought_before)] = -np.inf
            shown = list(np.argsort(-scores)[:K])
        else:
            shown, _ = model.for_user(row, bought_before, K)
        gains = [1.0 if i in truth else 0.0 for i in shown]
        ideal = sum(1.0 / np.log2(r + 2) for r in range(min(len(truth), K)))
        hits.append(1.0 if any(gains) else 0.0)
        ndcgs.append(sum(g / np.log2(r + 2) for r, g in enumerate(gains)) / ideal if ideal else 0.0)
    return {
        "users": len(hits),
        "hit_rate_at_10": round(float(np.mean(hits)), 4),
        "ndcg_at_10": round(float(np.mean(ndcgs)), 4),
    }


def train(data: Path, out: Path, params: dict[str, Any] = PARAMS) -> dict[str, Any]:
    started = time.perf_counter()
    events = pd.read_csv(data)
    users = sorted(events["user_id"].unique())
    items = sorted(events["product_id"].unique())
    content = TfidfVectorizer(sublinear_tf=True).fit_transform(product_texts(items)).tocsr()
    v_start, v_end = params["validation_days"]

    grid = params["weight_grid"]
    m_val = matrix(events, users, items, v_start, params)
    best: tuple[float, Weights] | None = None
    for a, b, c in itertools.product(grid["collaborative"], grid["content"], grid["popularity"]):
        w = Weights(a, b, c)
        score = evaluate(fit(m_val, content, users, items, w, params), events, v_start, v_end)
        if best is None or score["ndcg_at_10"] > best[0]:
            best = (score["ndcg_at_10"], w)
    assert best is not None
    weights = best[1]

    test_from = params["test_from_day"]
    m_test = matrix(events, users, items, test_from, params)
    model = fit(m_test, content, users, items, weights, params)
    end = int(events["day"].max()) + 1
    blend = evaluate(model, events, test_from, end)
    popular = evaluate(model, events, test_from, end, popularity_only=True)
    version = artifacts.version(f"reco-m{MODEL_FORMAT}", [data], params)
    metrics = {
        "model_version": version,
        "held_out": {"days": [test_from, end - 1], "warm_users": blend["users"]},
        "blend": blend,
        "baseline_popularity": popular,
        "weights": weights.__dict__,
        "items": len(items),
        "users": len(users),
        "params": params,
    }
    served = fit(
        matrix(events, users, items, end, params), content, users, items, weights, params, version
    )
    metrics["train_seconds"] = round(time.perf_counter() - started, 1)
    _write(out, served, metrics)
    return metrics


def _write(out: Path, model: RecoModel, metrics: dict[str, Any]) -> None:
    def files(tmp: Path) -> None:
        np.savez(
            tmp / "model.npz",
            item_ids=np.array(model.item_ids),
            factors=model.factors,
            popularity=model.popularity,
        )
        sparse.save_npz(tmp / "content.npz", model.content)
        rows = model.user_rows.tocsr()
        np.savez(
            tmp / "users.npz",
            user_ids=np.array(model.user_ids),
            data=rows.data,
            indices=rows.indices,
            indptr=rows.indptr,
            shape=np.array(rows.shape),
        )

    meta = {"version": model.version, **EXPECTED, "weights": model.weights.__dict__}
    artifacts.write_model_dir(out, meta, metrics, files)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA_DIR / "interactions.csv")
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument("--if-missing", action="store_true")
    args = parser.parse_args(argv)
    if args.if_missing and usable(args.out, "recommendations", EXPECTED):
        print(f"recommendations model present in {args.out}")
        return
    if not args.data.exists():
        interactions.write(args.data.parent)
    m = train(args.data, args.out)
    b, p = m["blend"], m["baseline_popularity"]
    print(
        f"recommendations {m['model_version']} in {m['train_seconds']} s: held-out hit-rate@10 "
        f"{b['hit_rate_at_10']} (popularity {p['hit_rate_at_10']}), NDCG@10 {b['ndcg_at_10']} "
        f"(popularity {p['ndcg_at_10']}), {b['users']} warm users; weights {m['weights']}"
    )


if __name__ == "__main__":
    main()
