"""Fraud features, input validation, decision bands and model loading (no Dapr, no training)."""

import json
import math
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from apps.contracts.fraud import Decision, FraudContext
from apps.fraud.features import FEATURE_SCHEMA, FEATURES, features, rule_score
from apps.fraud.model import FraudModel, ModelError
from apps.fraud.service import band
from apps.fraud.settings import FraudSettings


def context(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": 120.0,
        "item_count": 2,
        "share_electronics": 0.5,
        "share_gift_cards": 0.0,
        "account_age_days": 400.0,
        "orders_last_24h": 0,
        "orders_last_7d": 1,
        "avg_order_amount": 60.0,
        "email": "ann@gmail.com",
        "shipping_country": "US",
        "billing_country": "US",
        "hour": 14,
        "payment_method_age_days": 200.0,
    }
    body.update(overrides)
    return body


def test_features_are_computed_as_documented() -> None:
    f = dict(zip(FEATURES, features(FraudContext(**context())), strict=True))
    assert f["log_amount"] == pytest.approx(math.log(121.0))
    assert f["amount_vs_average"] == pytest.approx(2.0)
    assert (f["first_order"], f["address_mismatch"], f["odd_hour"]) == (0.0, 0.0, 0.0)
    assert (f["free_email_domain"], f["risky_email_domain"]) == (1.0, 0.0)
    assert f["hour_cos"] == pytest.approx(math.cos(2 * math.pi * 14 / 24))
    risky = dict(
        zip(
            FEATURES,
            features(
                FraudContext(
                    **context(
                        email="x@Mailinator.com",
                        billing_country="NG",
                        hour=3,
                        avg_order_amount=0,
                        is_guest=True,
                    )
                )
            ),
            strict=True,
        )
    )
    assert risky["risky_email_domain"] == risky["address_mismatch"] == risky["odd_hour"] == 1.0
    assert (risky["first_order"], risky["amount_vs_average"], risky["is_guest"]) == (1.0, 0.0, 1.0)


def test_rule_baseline_counts_red_flags() -> None:
    assert rule_score(FraudContext(**context())) == 0
    flagged = FraudContext(
        **context(orders_last_24h=4, orders_last_7d=4, billing_country="GB", hour=2)
    )
    assert rule_score(flagged) == 2.0 + 1.5 + 1.0


@pytest.mark.parametrize(
    "bad",
    [
        {"amount": 0},
        {"amount": -5},
        {"amount": 5_000_000},
        {"hour": 24},
        {"share_electronics": 0.8, "share_gift_cards": 0.5},
        {"orders_last_24h": 5, "orders_last_7d": 2},
        {"shipping_country": "usa"},
        {"email": "not-an-email"},
        {"unknown_feature": 1},
    ],
)
def test_absurd_or_unknown_input_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        FraudContext(**context(**bad))


def test_missing_features_are_refused() -> None:
    body = context()
    del body["account_age_days"]
    with pytest.raises(ValidationError):
        FraudContext(**body)


def test_decision_bands() -> None:
    assert band(0.1, 0.3, 0.8) == Decision.APPROVE
    assert band(0.3, 0.3, 0.8) == Decision.REVIEW
    assert band(0.79, 0.3, 0.8) == Decision.REVIEW
    assert band(0.8, 0.3, 0.8) == Decision.REJECT


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValidationError):
        FraudSettings(review_threshold=0.9, reject_threshold=0.5)


def test_missing_or_incompatible_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="taskw train"):
        FraudModel.load(tmp_path)
    (tmp_path / "model.json").write_text(
        json.dumps({"version": "old", "feature_schema": "0" * 16, "features": ["x"]})
    )
    with pytest.raises(ModelError, match=FEATURE_SCHEMA):
        FraudModel.load(tmp_path)
