"""The analytics read model in the Dapr state store, and product categories from catalog."""

from collections.abc import Callable
from typing import Any

from apps.backoffice.analytics import domain
from apps.backoffice.analytics.domain import Record
from apps.contracts.catalog import MAX_BATCH_PRODUCTS
from apps.contracts.names import AppId
from apps.platform.dapr import Sidecar
from apps.platform.state import EtagMismatch, JsonStateStore

#: Documents per scan page. The query API pages by offset, so every page sorts the matching
#: rows again: a year of orders (100,000 documents of ~0.6 KB) in pages of 5,000 is 20 sorts
#: instead of 100. Activity batches can hold up to 5,000 steps (~300 KB), so their pages are
#: kept small enough to stay a few tens of MB.
ORDER_PAGE = 5000
BATCH_PAGE = 200


class StateSalesRecords:
    """One JSON document per order (`analytics-order-{id}`) and per activity batch
    (`analytics-activity-{id}`); loaded whole with sorted scans by their unique ids."""

    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def update(self, order_id: str, decide: Callable[[Record | None], Record | None]) -> bool:
        return await self.store.compare_and_set(domain.order_key(order_id), decide)

    async def all_orders(self) -> list[Record]:
        found = await self.store.scan(
            {"EQ": {"kind": domain.ORDER_KIND}}, "order_id", page_size=ORDER_PAGE, overlap=50
        )
        return [doc.value for doc in found]

    async def add_batch(self, batch_id: str, document: dict[str, Any]) -> bool:
        try:
            await self.store.insert(domain.batch_key(batch_id), document)
        except EtagMismatch:
            return False
        return True

    async def all_batches(self) -> list[dict[str, Any]]:
        found = await self.store.scan(
            {"EQ": {"kind": domain.BATCH_KIND}}, "batch_id", page_size=BATCH_PAGE, overlap=20
        )
        return [doc.value for doc in found]


class DaprCatalog:
    def __init__(self, sidecar: Sidecar) -> None:
        self.sidecar = sidecar

    async def categories(self, product_ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        unique = list(dict.fromkeys(product_ids))
        for at in range(0, len(unique), MAX_BATCH_PRODUCTS):
            result = await self.sidecar.invoke(
                AppId.CATALOG,
                "products/batch",
                method="POST",
                json_body={"product_ids": unique[at : at + MAX_BATCH_PRODUCTS]},
            )
            if not result.ok:  # a RuntimeError: the event is retried, not dropped
                raise RuntimeError(f"catalog answered {result.status} for products/batch")
            found.update({p["product_id"]: p["category_slug"] for p in result.body["products"]})
        return found
