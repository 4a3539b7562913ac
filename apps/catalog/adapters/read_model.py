"""What the read model loads: every product, stock, category and rating document,
found with the state query API by their `kind` field."""

from collections.abc import AsyncIterator

from apps.catalog.adapters.categories import categories_with_etags
from apps.catalog.adapters.reviews import DaprReviewRepository
from apps.catalog.browse import SourceDoc
from apps.catalog.inventory import StockRecord
from apps.contracts.catalog import (
    Category,
    Product,
    RatingSummary,
)
from apps.platform.state import JsonStateStore


class DaprIndexSource:
    """Everything the read model needs, read with the state query API (`kind` field)."""

    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def product_docs(self) -> AsyncIterator[SourceDoc[Product]]:
        for doc in await self.store.scan({"EQ": {"kind": "product"}}, "product.product_id"):
            raw = doc.value
            yield SourceDoc(
                raw["product"]["product_id"],
                doc.etag,
                lambda raw=raw: None
                if raw.get("deleted")
                else Product.model_validate(raw["product"]),
            )

    async def stock_docs(self) -> AsyncIterator[SourceDoc[StockRecord]]:
        for doc in await self.store.scan({"EQ": {"kind": "stock"}}, "sku"):
            raw = doc.value
            yield SourceDoc(raw["sku"], doc.etag, lambda raw=raw: StockRecord.model_validate(raw))

    async def categories(self) -> list[Category]:
        return [c for c, _ in (await categories_with_etags(self.store)).values()]

    async def ratings(self) -> dict[str, RatingSummary]:
        return await DaprReviewRepository(self.store).all_stats()
