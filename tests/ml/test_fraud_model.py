"""The fraud pipeline end to end on generated data (fixed seeds): the calibrated ensemble
must beat the rule baseline on the held-out (latest) period, and the files it writes must
load and serve. Trains a smaller data set than `./taskw train` (~20 s, TensorFlow included)."""

import json
from pathlib import Path

import pytest

from apps.contracts.fraud import Decision, FraudContext
from apps.fraud.model import FraudModel
from apps.fraud.service import FraudScorer
from ml import datagen
from ml.fraud import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    root = tmp_path_factory.mktemp("fraud")
    data = datagen.write(root / "data", n=40_000, seed=11)
    metrics = train.train(data / "checkouts.csv", root / "model")
    return root / "model", metrics


def test_ensemble_beats_the_rules_on_the_held_out_period(
    trained: tuple[Path, dict[str, object]],
) -> None:
    _, metrics = trained
    ensemble, rules = metrics["ensemble"], metrics["baseline_rules"]
    assert isinstance(ensemble, dict) and isinstance(rules, dict)
    assert ensemble["roc_auc"] > rules["roc_auc"]
    assert ensemble["pr_auc"] > rules["pr_auc"]
    assert ensemble["recall_at_1pct_fpr"] > rules["recall_at_1pct_fpr"]
    # Calibrated: the mean predicted probability is close to the observed fraud rate.
    assert abs(ensemble["mean_probability"] - ensemble["fraud_rate"]) < 0.01


def test_written_model_loads_and_serves(trained: tuple[Path, dict[str, object]]) -> None:
    directory, metrics = trained
    on_disk = json.loads((directory / "metrics.json").read_text())
    assert on_disk["model_version"] == metrics["model_version"]
    model = FraudModel.load(directory)
    scorer = FraudScorer(model, 0.3, 0.8, 5)
    risky = FraudContext(
        amount=900,
        item_count=1,
        share_electronics=0.9,
        share_gift_cards=0.05,
        account_age_days=0.3,
        orders_last_24h=0,
        orders_last_7d=0,
        avg_order_amount=0,
        email="x@mailinator.com",
        shipping_country="US",
        billing_country="NG",
        hour=3,
        payment_method_age_days=0.1,
    )
    calm = risky.model_copy(
        update={
            "amount": 60.0,
            "share_electronics": 0.1,
            "share_gift_cards": 0.0,
            "account_age_days": 900.0,
            "avg_order_amount": 55.0,
            "email": "x@gmail.com",
            "billing_country": "US",
            "hour": 14,
            "payment_method_age_days": 400.0,
        }
    )
    high, low = scorer.score(risky), scorer.score(calm)
    assert high.probability > 0.5 > 0.05 > low.probability
    assert low.decision == Decision.APPROVE and high.decision != Decision.APPROVE
    assert high.model_version == metrics["model_version"]
    assert high.top_features and all(c.contribution > 0 for c in high.top_features)
    # The served network (numpy) gives what Keras computed at training.
    assert metrics["mlp_export_max_abs_logit_diff"] < 1e-3
