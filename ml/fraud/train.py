"""Train the fraud ensemble and report it against the rule baseline (`./taskw train`).

Data: ml/datagen.py's checkouts (generated when missing). Split by time: the first 70 % of
days train, the next 15 % fit the stacker (calibration), the last 15 % are the held-out test.
Models: HistGradientBoosting (scikit-learn) and a Keras MLP (TensorFlow), stacked by a
logistic regression on their logits. Metrics on the held-out period: ROC-AUC, PR-AUC and
recall at 1 % false-positive rate, for the rules, each model and the ensemble.
Writes models/fraud/{gbm.joblib,mlp.npz,model.json,metrics.json}.
"""

import argparse
import os
import time
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from apps.contracts.fraud import FraudContext
from apps.fraud.features import FEATURE_SCHEMA, FEATURE_VERSION, FEATURES, features, rule_score
from apps.fraud.model import FraudModel, NumpyMlp, logit
from apps.platform.models import usable
from ml import artifacts, datagen

ROOT = Path(__file__).resolve().parents[2]
MODEL_DIR = ROOT / "models" / "fraud"
SEED = 7
EXPECTED = {"feature_schema": FEATURE_SCHEMA, "features": list(FEATURES)}
PARAMS: dict[str, Any] = {
    "gbm": {"max_iter": 300, "learning_rate": 0.06, "max_leaf_nodes": 31, "l2_regularization": 1.0},
    "mlp": {"hidden": [32, 16], "epochs": 12, "batch_size": 256, "learning_rate": 0.002},
    "split": {"train": 0.70, "validation": 0.15},
}


def load_frame(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Features, rule scores, labels and days, each row through the serving feature code."""
    frame = pd.read_csv(path, keep_default_na=False)
    contexts = [
        FraudContext(
            amount=r.amount,
            item_count=r.item_count,
            share_electronics=r.share_electronics,
            share_gift_cards=r.share_gift_cards,
            account_age_days=r.account_age_days,
            orders_last_24h=r.orders_last_24h,
            orders_last_7d=r.orders_last_7d,
            avg_order_amount=r.avg_order_amount,
            email=f"shopper@{r.email_domain}",
            shipping_country=r.shipping_country,
            billing_country=r.billing_country,
            hour=r.hour,
            payment_method_age_days=r.payment_method_age_days,
            is_guest=bool(r.is_guest),
        )
        for r in frame.itertuples(index=False)
    ]
    x = np.asarray([features(c) for c in contexts], dtype=float)
    rules = np.asarray([rule_score(c) for c in contexts], dtype=float)
    return x, rules, frame["is_fraud"].to_numpy(dtype=int), frame["day"].to_numpy(dtype=float)


def recall_at_fpr(y: np.ndarray, score: np.ndarray, fpr_limit: float = 0.01) -> float:
    fpr, tpr, _ = roc_curve(y, score)
    return float(tpr[fpr <= fpr_limit].max())


def evaluate(y: np.ndarray, score: np.ndarray) -> dict[str, float]:
    return {
        "roc_auc": round(float(roc_auc_score(y, score)), 4),
        "pr_auc": round(float(average_precision_score(y, score)), 4),
        "recall_at_1pct_fpr": round(recall_at_fpr(y, score), 4),
    }


def train_mlp(x: np.ndarray, y: np.ndarray, params: dict[str, Any]) -> tuple[NumpyMlp, float]:
    """The trained network exported to numpy, and the largest difference between the
    export's logits and Keras's own on the training rows (the export is checked, not hoped)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras  # imported here: serving never loads TensorFlow
    import tensorflow as tf

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    layers: list[Any] = [keras.Input(shape=(x.shape[1],))]
    layers += [keras.layers.Dense(n, activation="relu") for n in params["hidden"]]
    layers.append(keras.layers.Dense(1))
    net = keras.Sequential(layers)
    net.compile(
        optimizer=keras.optimizers.Adam(params["learning_rate"]),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
    )
    net.fit(
        (x - mean) / std,
        y.astype("float32"),
        epochs=params["epochs"],
        batch_size=params["batch_size"],
        verbose=0,
        shuffle=True,
    )
    weights = net.get_weights()
    pairs = [(weights[n], weights[n + 1]) for n in range(0, len(weights), 2)]
    exported = NumpyMlp(mean, std, pairs)
    sample = x[:2000]
    keras_logits = net.predict((sample - mean) / std, verbose=0)[:, 0]
    return exported, float(np.max(np.abs(keras_logits - exported.logits(sample))))


def train(data: Path, out: Path, params: dict[str, Any] = PARAMS) -> dict[str, Any]:
    started = time.perf_counter()
    x, rules, y, days = load_frame(data)
    cut1, cut2 = np.quantile(
        days, [params["split"]["train"], params["split"]["train"] + params["split"]["validation"]]
    )
    tr, va, te = days < cut1, (days >= cut1) & (days < cut2), days >= cut2

    gbm = HistGradientBoostingClassifier(random_state=SEED, **params["gbm"]).fit(x[tr], y[tr])
    mlp, export_diff = train_mlp(x[tr], y[tr], params["mlp"])

    def logits(rows: np.ndarray) -> np.ndarray:
        return np.column_stack([logit(gbm.predict_proba(rows)[:, 1]), mlp.logits(rows)])

    stacker = LogisticRegression(C=1.0).fit(logits(x[va]), y[va])
    version = artifacts.version(f"fraud-f{FEATURE_VERSION}", [data], params)
    model = FraudModel(
        version=version,
        gbm=gbm,
        mlp=mlp,
        stacker_coef=stacker.coef_[0],
        stacker_intercept=float(stacker.intercept_[0]),
        typical=np.median(x[tr], axis=0),
    )
    p_test = model.probabilities(x[te])
    metrics = {
        "model_version": version,
        "feature_schema": FEATURE_SCHEMA,
        "held_out": {
            "period_days": [round(float(cut2), 1), round(float(days.max()), 1)],
            "rows": int(te.sum()),
            "fraud_rows": int(y[te].sum()),
        },
        "baseline_rules": evaluate(y[te], rules[te]),
        "gbm": evaluate(y[te], gbm.predict_proba(x[te])[:, 1]),
        "mlp": evaluate(y[te], mlp.logits(x[te])),
        "ensemble": {
            **evaluate(y[te], p_test),
            "brier": round(float(np.mean((p_test - y[te]) ** 2)), 5),
            "mean_probability": round(float(p_test.mean()), 4),
            "fraud_rate": round(float(y[te].mean()), 4),
        },
        "mlp_export_max_abs_logit_diff": export_diff,
        "rows": {"train": int(tr.sum()), "validation": int(va.sum()), "test": int(te.sum())},
        "params": params,
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    _write(out, model, metrics)
    return metrics


def _write(out: Path, model: FraudModel, metrics: dict[str, Any]) -> None:
    def files(tmp: Path) -> None:
        joblib.dump(model.gbm, tmp / "gbm.joblib")
        model.mlp.save(tmp / "mlp.npz")

    meta = {
        "version": model.version,
        **EXPECTED,
        "stacker": {
            "coef": [float(c) for c in model.stacker_coef],
            "intercept": model.stacker_intercept,
        },
        "typical": [float(v) for v in model.typical],
    }
    artifacts.write_model_dir(out, meta, metrics, files)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=datagen.DATA_DIR / "checkouts.csv")
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument("--if-missing", action="store_true", help="only when no model exists")
    args = parser.parse_args(argv)
    if args.if_missing and usable(args.out, "fraud", EXPECTED):
        print(f"fraud model present in {args.out}")
        return
    if not args.data.exists():
        datagen.write(args.data.parent)
    metrics = train(args.data, args.out)
    e, b = metrics["ensemble"], metrics["baseline_rules"]
    print(
        f"fraud {metrics['model_version']} in {metrics['train_seconds']} s: held-out ROC-AUC "
        f"{e['roc_auc']} (rules {b['roc_auc']}), PR-AUC {e['pr_auc']} (rules {b['pr_auc']}), "
        f"recall@1%FPR {e['recall_at_1pct_fpr']} (rules {b['recall_at_1pct_fpr']})"
    )


if __name__ == "__main__":
    main()
