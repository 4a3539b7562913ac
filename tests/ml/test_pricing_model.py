"""The pricing pipeline on generated sales (fixed seeds): elasticities closer to the truth
than a naive log-log fit, and suggestions that raise margin on the true demand curves."""

from pathlib import Path
from typing import Any

import pytest

from apps.contracts.pricing import SuggestRequest
from apps.pricing.service import PricingModel, PricingService
from ml import demand
from ml.pricing import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("pricing")
    demand.write(root / "data", n_skus=40, days=400, seed=17)
    return root / "model", train.train(root / "data", root / "model")


def test_elasticities_beat_the_naive_fit_and_suggestions_pay(
    trained: tuple[Path, dict[str, Any]],
) -> None:
    _, m = trained
    mae = m["elasticity_mae"]
    assert mae["served_blend"] < mae["baseline_naive_loglog"]
    assert m["elasticity_correlation"] > 0.4
    assert m["suggestions_on_true_demand"]["mean_margin_change"] > 0
    assert m["suggestions_on_true_demand"]["share_improving"] > 0.6


def test_served_suggestions_respect_the_guardrails(trained: tuple[Path, dict[str, Any]]) -> None:
    directory, _ = trained
    service = PricingService(PricingModel.load(directory))
    for sku in list(service.model.skus)[:20]:
        r = service.suggest(SuggestRequest(sku=sku, min_margin=0.2, max_change=0.05))
        assert abs(r.change) <= 0.05 + 1e-3 or "cost" in r.binding
        assert r.suggested_price >= r.unit_cost / 0.8 - 0.01 or "min_margin" in r.binding
        assert r.suggested_price >= r.unit_cost
        assert r.explanation
