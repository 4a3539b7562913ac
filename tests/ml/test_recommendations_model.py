"""The recommender on generated shoppers (fixed seeds): the blend must beat popularity on
hit-rate@10 and NDCG@10 over the held-out (latest) purchases."""

from pathlib import Path
from typing import Any

import pytest

from apps.recommendations.model import RecoModel
from ml import interactions
from ml.recommendations import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("reco")
    data = interactions.write(root / "data", n_products=600, n_users=1500, seed=99)
    return root / "model", train.train(data, root / "model")


def test_blend_beats_popularity_on_the_held_out_purchases(
    trained: tuple[Path, dict[str, Any]],
) -> None:
    _, m = trained
    blend, popular = m["blend"], m["baseline_popularity"]
    assert blend["users"] > 200
    assert blend["hit_rate_at_10"] > popular["hit_rate_at_10"]
    assert blend["ndcg_at_10"] > popular["ndcg_at_10"]


def test_written_model_loads(trained: tuple[Path, dict[str, Any]]) -> None:
    directory, m = trained
    model = RecoModel.load(directory)
    assert model.version == m["model_version"] and len(model.item_ids) == m["items"]
    picks, strategy = model.related(0, 5)
    assert len(picks) == 5 and 0 not in picks and strategy in ("blend", "content")
