"""What the read model loads: every product, stock, category and rating document,
found with the state query API by their `kind` field."""

from collections.abc import AsyncIterator

from apps.catalog.adapters.categories import categories_with_etags
from apps.catalog.adapters.inventory import stock_key
from apps.catalog.adapters.products import product_key
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

    async def product_doc(self, product_id: str) -> SourceDoc[Product] | None:
        """One product document as the store holds it now (None: never stored)."""
        found = await self.store.get(product_key(product_id))
        if found is None:
            return None
        raw = found.value

        def load() -> Product | None:
            return None if raw.get("deleted") else Product.model_validate(raw["product"])

        return SourceDoc(product_id, found.etag, load)

    async def stock_records(self, skus: list[str]) -> list[StockRecord]:
        """The stock documents of `skus` that exist (one bulk read)."""
        found = await self.store.get_many([stock_key(sku) for sku in dict.fromkeys(skus)])
        return [StockRecord.model_validate(doc.value) for doc in found.values()]

    async def stock_docs(self) -> AsyncIterator[SourceDoc[StockRecord]]:
        for doc in await self.store.scan({"EQ": {"kind": "stock"}}, "sku"):
            raw = doc.value
            yield SourceDoc(raw["sku"], doc.etag, lambda raw=raw: StockRecord.model_validate(raw))

    async def categories(self) -> list[Category]:
        return [c for c, _ in (await categories_with_etags(self.store)).values()]

    async def ratings(self) -> dict[str, RatingSummary]:
        return await DaprReviewRepository(self.store).all_stats()
