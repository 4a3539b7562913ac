"""The fraud ensemble as served: gradient boosting (scikit-learn) and a small neural network
(trained with TensorFlow/Keras, exported as weights and run here with numpy: no TensorFlow
in the serving process, no per-call `predict()` overhead), combined by a logistic stacker
fitted on a validation period, which also calibrates the probability.

Files in the model directory (written by `ml/fraud/train.py`): `gbm.joblib`, `mlp.npz`,
`model.json` (version, feature schema, stacker, typical feature values), `metrics.json`.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from apps.fraud.features import FEATURE_SCHEMA, FEATURES
from apps.platform.models import ModelError, read_meta

__all__ = ["FraudModel", "ModelError", "NumpyMlp"]


@dataclass
class NumpyMlp:
    """Dense layers with ReLU, a single logit out; inputs standardised first."""

    mean: np.ndarray
    std: np.ndarray
    weights: list[tuple[np.ndarray, np.ndarray]]

    def logits(self, x: np.ndarray) -> np.ndarray:
        h = (x - self.mean) / self.std
        for n, (w, b) in enumerate(self.weights):
            h = h @ w + b
            if n < len(self.weights) - 1:
                h = np.maximum(h, 0.0)
        return np.asarray(h[:, 0])

    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {"mean": self.mean, "std": self.std}
        for n, (w, b) in enumerate(self.weights):
            arrays[f"w{n}"], arrays[f"b{n}"] = w, b
        np.savez(path, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> "NumpyMlp":
        data = np.load(path)
        layers = len([k for k in data.files if k.startswith("w")])
        weights = [(data[f"w{n}"], data[f"b{n}"]) for n in range(layers)]
        return cls(data["mean"], data["std"], weights)


def logit(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(clipped / (1 - clipped)))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


@dataclass
class FraudModel:
    version: str
    gbm: Any  # sklearn HistGradientBoostingClassifier
    mlp: NumpyMlp
    stacker_coef: np.ndarray  # weights of [gbm logit, mlp logit]
    stacker_intercept: float
    typical: np.ndarray  # per-feature median of the training data (for explanations)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        g = logit(self.gbm.predict_proba(x)[:, 1])
        m = self.mlp.logits(x)
        return sigmoid(self.stacker_coef[0] * g + self.stacker_coef[1] * m + self.stacker_intercept)

    def explain(
        self, row: list[float], top: int = 5
    ) -> tuple[float, list[tuple[str, float, float]]]:
        """The probability and the features that raise it most: each feature in turn set to
        its typical value (one batch with the row itself), ranked by the drop it causes."""
        x = np.asarray(row, dtype=float)
        batch = np.repeat(x[None, :], len(FEATURES) + 1, axis=0)
        for n in range(len(FEATURES)):
            batch[n + 1, n] = self.typical[n]
        probs = self.probabilities(batch)
        base = float(probs[0])
        drops = [
            (FEATURES[n], float(x[n]), base - float(probs[n + 1])) for n in range(len(FEATURES))
        ]
        drops.sort(key=lambda d: d[2], reverse=True)
        return base, [d for d in drops[:top] if d[2] > 0]

    @classmethod
    def load(cls, directory: Path) -> "FraudModel":
        meta = read_meta(
            directory, "fraud", {"feature_schema": FEATURE_SCHEMA, "features": list(FEATURES)}
        )
        return cls(
            version=str(meta["version"]),
            gbm=joblib.load(directory / "gbm.joblib"),
            mlp=NumpyMlp.load(directory / "mlp.npz"),
            stacker_coef=np.asarray(meta["stacker"]["coef"], dtype=float),
            stacker_intercept=float(meta["stacker"]["intercept"]),
            typical=np.asarray(meta["typical"], dtype=float),
        )
