"""Related products and "for you", from the model plus the shop's own purchases
(`OrderPaid` on order-events, kept per user behind `LivePurchases`)."""

import math
from typing import Protocol

from apps.contracts.events import EventEnvelope
from apps.contracts.orders import OrderPaid
from apps.contracts.recommendations import Recommendations, Recommended
from apps.recommendations.model import RecoModel

#: A live purchase weighs what a purchase weighed in training (log-scaled weight 4).
LIVE_PURCHASE_WEIGHT = math.log1p(4.0)


class LivePurchases(Protocol):
    async def of(self, user_id: str) -> list[str]: ...

    async def record(self, event_id: str, user_id: str, product_ids: list[str]) -> None: ...


class RecommendationService:
    def __init__(self, model: RecoModel, live: LivePurchases) -> None:
        self.model = model
        self.live = live

    def related(self, product_id: str, limit: int) -> Recommendations:
        m = self.model
        item = m.index.get(product_id)
        if item is None:  # a product the model never saw: what sells
            picks, strategy = m.popular(set(), limit), "popularity"
        else:
            picks, strategy = m.related(item, limit)
        return self._answer(picks, strategy)

    async def for_user(self, user_id: str, limit: int) -> Recommendations:
        m = self.model
        bought_live = await self.live.of(user_id)
        row = m.user_row(user_id, {p: LIVE_PURCHASE_WEIGHT for p in bought_live})
        # Bought before (a purchase's weight; four views weigh as much): not shown again.
        bought = {int(i) for i in (row >= LIVE_PURCHASE_WEIGHT - 1e-9).nonzero()[0]}
        picks, strategy = m.for_user(row, bought, limit)
        return self._answer(picks, strategy)

    async def on_order_paid(self, event: EventEnvelope) -> None:
        paid = OrderPaid.model_validate(event.data)
        if paid.user_id:  # guests leave no profile
            products = sorted({line.product_id for line in paid.items})
            await self.live.record(event.event_id, paid.user_id, products)

    def _answer(self, picks: list[int], strategy: str) -> Recommendations:
        return Recommendations(
            items=[
                Recommended(product_id=self.model.item_ids[i], rank=n + 1)
                for n, i in enumerate(picks)
            ],
            strategy=strategy,  # type: ignore[arg-type]
            model_version=self.model.version,
        )
