"""Category documents; each change commits with an outbox document of its event."""

import uuid
from typing import Any

from apps.catalog.adapters.inventory import BatchRelay, outbox_doc, outbox_key
from apps.catalog.adapters.products import category_key
from apps.catalog.service import StaleWrite
from apps.contracts.catalog import (
    Category,
)
from apps.contracts.events import EventEnvelope
from apps.platform.state import EtagMismatch, JsonStateStore, Upsert


def category_doc(category: Category) -> dict[str, Any]:
    return {"kind": "category", "category": category.model_dump(mode="json")}


async def categories_with_etags(store: JsonStateStore) -> dict[str, tuple[Category, str]]:
    found = {}
    for doc in await store.scan({"EQ": {"kind": "category"}}, "category.slug"):
        category = Category.model_validate(doc.value["category"])
        found[category.slug] = (category, doc.etag)
    return found


class DaprCategoryRepository:
    """Category documents; each change commits with an outbox document of its event."""

    def __init__(self, store: JsonStateStore, relay: BatchRelay) -> None:
        self.store = store
        self.relay = relay

    async def category_exists(self, slug: str) -> bool:
        return await self.store.get(category_key(slug)) is not None

    async def all(self) -> dict[str, tuple[Category, str]]:
        return await categories_with_etags(self.store)

    async def insert(self, category: Category, event: EventEnvelope) -> None:
        await self._write(
            Upsert(category_key(category.slug), category_doc(category), insert_only=True), event
        )

    async def replace(self, category: Category, etag: str, event: EventEnvelope) -> None:
        await self._write(Upsert(category_key(category.slug), category_doc(category), etag), event)

    async def _write(self, op: Upsert, event: EventEnvelope) -> None:
        batch = outbox_key(str(uuid.uuid4()))
        try:
            await self.store.transact([op, Upsert(batch, outbox_doc(batch, [event]))])
        except EtagMismatch as exc:
            raise StaleWrite(op.key) from exc
        await self.relay.relay(batch)
