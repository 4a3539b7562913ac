"""ML apps limit native thread pools (OpenMP, BLAS) once their models are loaded."""

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from apps.platform.models import limit_native_threads


def test_every_native_pool_is_limited_and_predictions_still_run() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 4))
    model = HistGradientBoostingClassifier(max_iter=5).fit(x, x[:, 0] > 0)
    pools = limit_native_threads(1)
    assert any(p["internal_api"] == "openmp" for p in pools), pools
    assert all(p["num_threads"] == 1 for p in pools), pools
    assert model.predict_proba(x[:3]).shape == (3, 2)
