"""Recommendation scoring on a toy model (no training): exclusions, fallbacks, ranks."""

import asyncio

import numpy as np
from scipy import sparse

from apps.recommendations.model import RecoModel, Weights, z
from apps.recommendations.service import LIVE_PURCHASE_WEIGHT, RecommendationService


def toy() -> RecoModel:
    # Items 0-1 share a taste factor, 2-3 another; item 4 has no interactions at all.
    factors = np.array([[1.0, 0], [0.9, 0.1], [0, 1.0], [0.1, 0.9], [0, 0]])
    content = sparse.csr_matrix(
        np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0.6, 0, 0.8]])
    )
    users = sparse.csr_matrix(np.array([[LIVE_PURCHASE_WEIGHT, 0, 0, 0, 0]]))
    return RecoModel(
        version="toy",
        item_ids=["a", "b", "c", "d", "e"],
        factors=factors,
        popularity=np.array([1.0, 2.0, 5.0, 4.0, 0.0]),
        content=content,
        weights=Weights(0.7, 0.3, 0.0),
        user_ids=["u1"],
        user_rows=users,
    )


class NoLive:
    def __init__(self, bought: list[str] | None = None) -> None:
        self.bought = bought or []

    async def of(self, user_id: str) -> list[str]:
        return self.bought

    async def record(self, event_id: str, user_id: str, product_ids: list[str]) -> None:
        self.bought.extend(product_ids)


def test_for_you_follows_taste_and_skips_what_was_bought() -> None:
    service = RecommendationService(toy(), NoLive())
    recs = asyncio.run(service.for_user("u1", 2))
    assert recs.strategy == "blend"
    assert recs.items[0].product_id == "b"  # same taste as "a"
    assert "a" not in [r.product_id for r in recs.items]


def test_newcomers_get_best_sellers_and_live_purchases_count() -> None:
    service = RecommendationService(toy(), NoLive())
    newcomer = asyncio.run(service.for_user("nobody", 3))
    assert newcomer.strategy == "popularity"
    assert [r.product_id for r in newcomer.items] == ["c", "d", "b"]
    live = RecommendationService(toy(), NoLive(["c"]))
    after = asyncio.run(live.for_user("nobody", 2))
    assert after.strategy == "blend" and after.items[0].product_id == "d"
    assert "c" not in [r.product_id for r in after.items]


def test_related_uses_taste_then_content_for_items_nobody_touched() -> None:
    service = RecommendationService(toy(), NoLive())
    related = service.related("c", 2)
    assert related.strategy == "blend" and related.items[0].product_id == "d"
    assert "c" not in [r.product_id for r in related.items]
    cold = service.related("e", 2)
    assert cold.strategy == "content" and cold.items[0].product_id in {"a", "b"}
    unknown = service.related("zzz", 2)
    assert unknown.strategy == "popularity" and [r.rank for r in unknown.items] == [1, 2]


def test_z_of_a_constant_is_zero() -> None:
    assert not z(np.ones(4)).any()
