"""The forecast pipeline end to end on generated sales (fixed seeds): it must beat
seasonal-naive on the held-out 28 days, and its files must load and forecast."""

from pathlib import Path
from typing import Any

import pytest

from apps.forecast.model import ForecastModel
from ml import demand
from ml.forecast import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("forecast")
    data = demand.write(root / "data", n_skus=40, days=400, seed=17)
    return root / "model", train.train(data, root / "model")


def test_forecast_beats_seasonal_naive_on_the_held_out_days(
    trained: tuple[Path, dict[str, Any]],
) -> None:
    _, metrics = trained
    model, naive = metrics["model"], metrics["baseline_seasonal_naive"]
    assert model["wape"] < naive["wape"]
    assert model["mape"] < naive["mape"]
    assert 0.7 <= model["interval_80_coverage"] <= 0.98


def test_written_model_forecasts_every_sku(trained: tuple[Path, dict[str, Any]]) -> None:
    directory, metrics = trained
    model, histories = ForecastModel.load(directory)
    assert model.version == metrics["model_version"] and len(histories) == 40
    h = next(iter(histories.values()))
    days = model.forecast(h, 14)
    assert len(days) == 14 and all(d.low <= d.expected <= d.high for d in days)
    stock = model.replenishment(days, 7, 0.95)
    assert stock.reorder_point >= stock.lead_time_demand >= 0
