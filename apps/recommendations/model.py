"""The recommender as served: collaborative (PureSVD: truncated SVD of the implicit
interaction matrix, scikit-learn) blended with content similarity (TF-IDF over category,
brand, name and attributes) and popularity (cold start).

- For a shopper: scores = a * z(r V V^T) + b * z(profile C^T) + c * z(popularity), where r is
  the shopper's interaction row (history and live purchases), V the item factors, C the
  TF-IDF rows and profile the mean of the rows of what they interacted with. Items they
  bought are left out. No history: popularity alone.
- For a product: a * z(cos(V_i, V)) + b * z(cos(C_i, C)) + c * z(popularity); a product
  without interactions gets content and popularity only.

Files (written by `ml/recommendations/train.py`): `model.npz` (item ids, factors,
popularity), `content.npz` (TF-IDF rows), `users.npz` (training interaction rows),
`model.json` (version, weights), `metrics.json`.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from apps.platform.models import read_meta

MODEL_FORMAT = 1


def z(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


@dataclass(frozen=True)
class Weights:
    collaborative: float
    content: float
    popularity: float


@dataclass
class RecoModel:
    version: str
    item_ids: list[str]
    factors: np.ndarray  # items x k
    popularity: np.ndarray  # items (training purchases + views, log-scaled)
    content: sparse.csr_matrix  # items x terms, rows L2-normalised
    weights: Weights
    user_ids: list[str]
    user_rows: sparse.csr_matrix  # users x items: training interactions (weighted)

    def __post_init__(self) -> None:
        self.index = {pid: n for n, pid in enumerate(self.item_ids)}
        self.user_index = {uid: n for n, uid in enumerate(self.user_ids)}
        norms = np.linalg.norm(self.factors, axis=1, keepdims=True)
        self.unit_factors = self.factors / np.where(norms > 0, norms, 1.0)
        self.has_signal = norms[:, 0] > 1e-9
        self.pop_z = z(self.popularity)

    def user_row(self, user_id: str, live: dict[str, float]) -> np.ndarray:
        row = np.zeros(len(self.item_ids))
        n = self.user_index.get(user_id)
        if n is not None:
            row += self.user_rows.getrow(n).toarray()[0]
        for pid, weight in live.items():
            i = self.index.get(pid)
            if i is not None:
                row[i] += weight
        return row

    def popular(self, exclude: set[int], k: int) -> list[int]:
        scores = self.popularity.astype(float).copy()
        if exclude:
            scores[list(exclude)] = -np.inf
        return _top(scores, k)

    def for_user(self, row: np.ndarray, exclude: set[int], k: int) -> tuple[list[int], str]:
        if not row.any():
            return self.popular(exclude, k), "popularity"
        else:
            collab = (row @ self.factors) @ self.factors.T
            profile = sparse.csr_matrix(row @ self.content)
            content = np.asarray((profile @ self.content.T).todense())[0]
            w = self.weights
            scores = (
                w.collaborative * z(collab) + w.content * z(content) + w.popularity * self.pop_z
            )
            strategy = "blend"
        if exclude:
            scores[list(exclude)] = -np.inf
        return _top(scores, k), strategy

    def related(self, item: int, k: int) -> tuple[list[int], str]:
        content = np.asarray((self.content[item] @ self.content.T).todense())[0]
        w = self.weights
        if self.has_signal[item]:
            collab = self.unit_factors @ self.unit_factors[item]
            scores = (
                w.collaborative * z(collab) + w.content * z(content) + w.popularity * self.pop_z
            )
            strategy = "blend"
        else:  # no one interacted with it yet: what it is like, and what sells
            scores = z(content) + 0.3 * self.pop_z
            strategy = "content"
        scores[item] = -np.inf
        return _top(scores, k), strategy

    @classmethod
    def load(cls, directory: Path) -> "RecoModel":
        meta = read_meta(directory, "recommendations", {"format": MODEL_FORMAT})
        arrays = np.load(directory / "model.npz", allow_pickle=False)
        users = np.load(directory / "users.npz", allow_pickle=False)
        return cls(
            version=str(meta["version"]),
            item_ids=[str(i) for i in arrays["item_ids"]],
            factors=arrays["factors"],
            popularity=arrays["popularity"],
            content=sparse.load_npz(directory / "content.npz").tocsr(),
            weights=Weights(**meta["weights"]),
            user_ids=[str(u) for u in users["user_ids"]],
            user_rows=sparse.csr_matrix(
                (users["data"], users["indices"], users["indptr"]), shape=tuple(users["shape"])
            ),
        )


def _top(scores: np.ndarray, k: int) -> list[int]:
    k = min(k, int(np.isfinite(scores).sum()))
    if k <= 0:
        return []
    top = np.argpartition(-scores, k - 1)[:k]
    return [int(i) for i in top[np.argsort(-scores[top])]]
