"""Bulk writes for loading generated data into an empty catalog (no events: nothing
consumes a catalog that did not exist; read models load from the store)."""

from typing import Any

from apps.catalog.adapters.categories import category_doc
from apps.catalog.adapters.inventory import sku_key, slug_key
from apps.catalog.adapters.products import SEED_MARKER, category_key, product_doc, product_key
from apps.contracts.catalog import (
    Category,
    Product,
)
from apps.platform.state import JsonStateStore


class DaprSeedRepository:
    """Bulk writes for loading generated data into an empty catalog (no events: nothing
    consumes a catalog that did not exist; read models load from the store)."""

    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def marker(self) -> dict[str, Any] | None:
        found = await self.store.get(SEED_MARKER)
        return found.value if found else None

    async def load(self, categories: list[Category], products: list[Product]) -> None:
        items: list[tuple[str, Any]] = [(category_key(c.slug), category_doc(c)) for c in categories]
        for p in products:
            items.append((product_key(p.product_id), product_doc(p, [])))
            items.append((slug_key(p.slug), {"product_id": p.product_id}))
            items.extend(
                (sku_key(v.sku), {"product_id": p.product_id, "variant_id": v.variant_id})
                for v in p.variants
            )
        await self.store.bulk_upsert(items)

    async def mark(self, marker: dict[str, Any]) -> None:
        await self.store.bulk_upsert([(SEED_MARKER, marker)])
