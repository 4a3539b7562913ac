"""Dapr I/O of the catalog: products as ETag-guarded documents with an inline outbox.

A product document is `{"product": …, "outbox": [events], "deleted": bool}` under one key,
so the product and the events that describe its change commit in one write (insert with
first-write concurrency, replace with the ETag read). The relay publishes the outbox and
clears it; events left by a crash go out with the document's next write (consumers
deduplicate on event id). A delete leaves a tombstone until its event is out.
"""

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from apps.catalog.service import StaleWrite
from apps.contracts.catalog import (
    Product,
)
from apps.contracts.events import EventEnvelope, utcnow
from apps.contracts.names import Topic
from apps.platform.dapr import Sidecar
from apps.platform.state import EtagMismatch, JsonStateStore, Upsert

log = structlog.stdlib.get_logger("catalog.adapters")


def product_key(product_id: str) -> str:
    return f"product:{product_id}"


def purchase_key(user_id: str, product_id: str) -> str:
    return f"purchased:{user_id}:{product_id}"


def processed_key(event_id: str) -> str:
    return f"processed:{event_id}"


def product_doc(
    product: Product, outbox: list[dict[str, Any]], deleted: bool = False
) -> dict[str, Any]:
    return {
        "kind": "product",  # lets a full scan (state query API) find the documents
        "product": product.model_dump(mode="json"),
        "outbox": outbox,
        # A string, not a bool: the query API compares the text of a JSON field.
        "outbox_state": "pending" if outbox else "clear",
        "deleted": deleted,
    }


def category_key(slug: str) -> str:
    return f"category:{slug}"


SEED_MARKER = "seed:marker"


class DaprProductRepository:
    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def _raw(self, product_id: str) -> tuple[dict[str, Any], str] | None:
        found = await self.store.get(product_key(product_id))
        return (found.value, found.etag) if found else None

    async def get(self, product_id: str) -> tuple[Product, str] | None:
        raw = await self._raw(product_id)
        if raw is None or raw[0].get("deleted"):
            return None
        return Product.model_validate(raw[0]["product"]), raw[1]

    async def get_many(self, product_ids: list[str]) -> dict[str, Product]:
        """The live products among `product_ids`, read in one bulk call."""
        found = await self.store.get_many([product_key(pid) for pid in product_ids])
        return {
            doc.value["product"]["product_id"]: Product.model_validate(doc.value["product"])
            for doc in found.values()
            if not doc.value.get("deleted")
        }

    async def insert(self, product: Product, event: EventEnvelope) -> None:
        try:
            await self.store.insert(
                product_key(product.product_id),
                product_doc(product, [event.model_dump(mode="json")]),
            )
        except EtagMismatch as exc:
            raise StaleWrite(product.product_id) from exc

    async def replace(self, product: Product, etag: str, event: EventEnvelope) -> None:
        await self._write(product, etag, event, deleted=False)

    async def delete(self, product_id: str, etag: str, event: EventEnvelope) -> None:
        raw = await self._raw(product_id)
        if raw is None:
            raise StaleWrite(product_id)
        product = Product.model_validate(raw[0]["product"])
        await self._write(product, etag, event, deleted=True)

    async def _write(
        self, product: Product, etag: str, event: EventEnvelope, deleted: bool
    ) -> None:
        raw = await self._raw(product.product_id)
        pending = raw[0].get("outbox", []) if raw else []
        try:
            await self.store.replace(
                product_key(product.product_id),
                product_doc(product, [*pending, event.model_dump(mode="json")], deleted),
                etag,
            )
        except EtagMismatch as exc:
            raise StaleWrite(product.product_id) from exc

    async def update_many(
        self,
        changes: Sequence[tuple[Product, str]],
        processed_event_id: str,
        buyer: str | None = None,
    ) -> None:
        ops: list[Upsert] = []
        for product, etag in changes:
            raw = await self._raw(product.product_id)
            pending = raw[0].get("outbox", []) if raw else []
            ops.append(Upsert(product_key(product.product_id), product_doc(product, pending), etag))
        ops.append(Upsert(processed_key(processed_event_id), {"at": utcnow().isoformat()}))
        if buyer is not None:  # for verified-purchase reviews
            ops += [
                Upsert(purchase_key(buyer, product.product_id), {"at": utcnow().isoformat()})
                for product, _ in changes
            ]
        try:
            await self.store.transact(ops)
        except EtagMismatch as exc:
            raise StaleWrite(processed_event_id) from exc

    async def was_processed(self, event_id: str) -> bool:
        return await self.store.get(processed_key(event_id)) is not None


class OutboxRelay:
    """Publishes a document's pending events, then clears them (or removes a tombstone)."""

    def __init__(self, store: JsonStateStore, sidecar: Sidecar) -> None:
        self.store = store
        self.sidecar = sidecar

    async def relay(self, event: EventEnvelope) -> None:
        await self.relay_product(_product_id_of(event))

    async def relay_product(self, product_id: str) -> None:
        key = product_key(product_id)
        found = await self.store.get(key)
        if found is None:
            return
        doc, etag = found.value, found.etag
        outbox = [EventEnvelope.model_validate(e) for e in doc.get("outbox", [])]
        try:
            for pending in outbox:
                await self.sidecar.publish(Topic.PRODUCT_EVENTS, pending)
        except Exception as exc:  # broker down: the events stay in the document
            log.warning(
                "publish failed; events kept in the outbox", product_id=product_id, error=str(exc)
            )
            return
        try:
            if doc.get("deleted"):
                await self.store.delete(key, etag)
            else:
                await self.store.replace(key, {**doc, "outbox": [], "outbox_state": "clear"}, etag)
        except EtagMismatch:
            pass  # a newer write carries the (now published) events and relays them again


def _product_id_of(event: EventEnvelope) -> str:
    data = event.data
    return str(data["product"]["product_id"] if "product" in data else data["product_id"])


class OutboxSweeper:
    """Publishes what a crash left between a commit and its publish: outbox documents and
    product documents with pending events, older than `grace` (younger ones are still being
    relayed by the request that wrote them). Consumers deduplicate, so a double publish is
    harmless; a lost one is not."""

    def __init__(
        self,
        store: JsonStateStore,
        batches: "BatchRelayLike",
        products: OutboxRelay,
        grace: timedelta,
    ) -> None:
        self.store = store
        self.batches = batches
        self.products = products
        self.grace = grace

    async def sweep(self) -> int:
        cutoff = utcnow() - self.grace
        relayed = 0
        for doc in await self.store.scan({"EQ": {"kind": "outbox"}}, "key"):
            if datetime.fromisoformat(doc.value["created_at"]) < cutoff:
                await self.batches.relay(doc.value["key"])
                relayed += 1
        pending = {"AND": [{"EQ": {"kind": "product"}}, {"EQ": {"outbox_state": "pending"}}]}
        for doc in await self.store.scan(pending, "product.product_id"):
            product = doc.value["product"]
            if datetime.fromisoformat(product["updated_at"]) < cutoff:
                await self.products.relay_product(product["product_id"])
                relayed += 1
        return relayed

    async def run_forever(self, every_seconds: float) -> None:
        while True:
            await asyncio.sleep(every_seconds)
            try:
                if count := await self.sweep():
                    log.info("outbox sweep published leftovers", documents=count)
            except Exception as exc:
                log.warning("outbox sweep failed", error=str(exc))


class BatchRelayLike(Protocol):
    async def relay(self, batch_key: str) -> None: ...
