"""Dapr I/O of the catalog: products as ETag-guarded documents with an inline outbox.

A product document is `{"product": …, "outbox": [events], "deleted": bool}` under one key,
so the product and the events that describe its change commit in one write (insert with
first-write concurrency, replace with the ETag read). The relay publishes the outbox and
clears it; events left by a crash go out with the document's next write (consumers
deduplicate on event id). A delete leaves a tombstone until its event is out.
"""

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import structlog

from apps.catalog.browse import SourceDoc
from apps.catalog.inventory import StockRecord
from apps.catalog.service import StaleWrite
from apps.contracts.catalog import (
    Category,
    Product,
    ProductStatus,
    RatingSummary,
    Review,
    ReviewStatus,
)
from apps.contracts.errors import Conflict, UnprocessableError
from apps.contracts.events import EventEnvelope, topic_of, utcnow
from apps.contracts.inventory import Reservation
from apps.contracts.names import Topic
from apps.platform.dapr import Sidecar
from apps.platform.state import Delete, EtagMismatch, JsonStateStore, Upsert, Versioned

log = structlog.stdlib.get_logger("catalog.adapters")


def product_key(product_id: str) -> str:
    return f"product:{product_id}"


def processed_key(event_id: str) -> str:
    return f"processed:{event_id}"


def _doc(product: Product, outbox: list[dict[str, Any]], deleted: bool = False) -> dict[str, Any]:
    return {
        "kind": "product",  # lets a full scan (state query API) find the documents
        "product": product.model_dump(mode="json"),
        "outbox": outbox,
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

    async def insert(self, product: Product, event: EventEnvelope) -> None:
        try:
            await self.store.insert(
                product_key(product.product_id), _doc(product, [event.model_dump(mode="json")])
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
                _doc(product, [*pending, event.model_dump(mode="json")], deleted),
                etag,
            )
        except EtagMismatch as exc:
            raise StaleWrite(product.product_id) from exc

    async def update_many(
        self, changes: Sequence[tuple[Product, str]], processed_event_id: str
    ) -> None:
        ops: list[Upsert] = []
        for product, etag in changes:
            raw = await self._raw(product.product_id)
            pending = raw[0].get("outbox", []) if raw else []
            ops.append(Upsert(product_key(product.product_id), _doc(product, pending), etag))
        ops.append(Upsert(processed_key(processed_event_id), {"at": utcnow().isoformat()}))
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
        product_id = _product_id_of(event)
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
                await self.store.replace(key, {**doc, "outbox": []}, etag)
        except EtagMismatch:
            pass  # a newer write carries the (now published) events and relays them again


def _product_id_of(event: EventEnvelope) -> str:
    data = event.data
    return str(data["product"]["product_id"] if "product" in data else data["product_id"])


# -- inventory -------------------------------------------------------------------------------
def stock_key(sku: str) -> str:
    return f"stock:{sku}"


def sku_key(sku: str) -> str:
    return f"sku:{sku}"


def stock_doc(record: StockRecord) -> dict[str, Any]:
    return {"kind": "stock", **record.model_dump(mode="json")}


def reservation_key(order_id: str) -> str:
    return f"reservation:{order_id}"


def outbox_key(batch_id: str) -> str:
    return f"outbox:{batch_id}"


class DaprInventoryRepository:
    """Stock records, the SKU index and reservations; every change is one transaction that
    names the ETag of each stock record it read, plus an outbox document with its events."""

    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def index_skus(self, product: Product) -> None:
        """Claim the product's SKUs (insert-only): a SKU belongs to one product."""
        for v in product.variants:
            entry = {"product_id": product.product_id, "variant_id": v.variant_id}
            found = await self.store.get(sku_key(v.sku))
            if found is None:
                try:
                    await self.store.insert(sku_key(v.sku), entry)
                    continue
                except EtagMismatch:  # claimed a moment ago: check by whom
                    found = await self.store.get(sku_key(v.sku))
            if found is None or found.value["product_id"] != product.product_id:
                raise Conflict("SKU already used by another product", sku=v.sku)

    async def stock(self, skus: list[str]) -> dict[str, tuple[StockRecord, str]]:
        result: dict[str, tuple[StockRecord, str]] = {}
        unknown = []
        for sku in skus:
            found = await self.store.get(stock_key(sku))
            if found is None:
                found = await self._initialise(sku)
            if found is None:
                unknown.append(sku)
                continue
            result[sku] = (StockRecord.model_validate(found.value), found.etag)
        if unknown:
            raise UnprocessableError("Unknown SKU", skus=unknown)
        return result

    async def _initialise(self, sku: str) -> Versioned | None:
        """First touch of a SKU: its record starts from the variant's stock in the product.
        Insert-only, so two first touches at once cannot both write it."""
        index = await self.store.get(sku_key(sku))
        if index is None:
            return None
        doc = await self.store.get(product_key(index.value["product_id"]))
        if doc is None or doc.value.get("deleted"):
            return None
        product = Product.model_validate(doc.value["product"])
        variant = next((v for v in product.variants if v.sku == sku), None)
        if variant is None:
            return None
        record = StockRecord(
            sku=sku,
            product_id=product.product_id,
            variant_id=variant.variant_id,
            on_hand=variant.stock,
        )
        with contextlib.suppress(EtagMismatch):
            await self.store.insert(stock_key(sku), stock_doc(record))
        return await self.store.get(stock_key(sku))

    async def reservation(self, order_id: str) -> tuple[Reservation, str] | None:
        found = await self.store.get(reservation_key(order_id))
        if found is None:
            return None
        return Reservation.model_validate(found.value), found.etag

    async def save(
        self,
        stocks: list[tuple[StockRecord, str]],
        reservation: Reservation | None,
        reservation_etag: str | None,
        events: list[EventEnvelope],
    ) -> str:
        batch = outbox_key(str(uuid.uuid4()))
        ops: list[Upsert] = [
            Upsert(stock_key(rec.sku), stock_doc(rec), etag) for rec, etag in stocks
        ]
        if reservation is not None:
            ops.append(
                Upsert(
                    reservation_key(reservation.order_id),
                    reservation.model_dump(mode="json"),
                    reservation_etag,
                )
            )
        ops.append(
            Upsert(
                batch,
                {
                    "kind": "outbox",
                    "created_at": utcnow().isoformat(),
                    "events": [_outbox_entry(e) for e in events],
                },
            )
        )
        try:
            await self.store.transact(ops)
        except EtagMismatch as exc:
            raise StaleWrite(batch) from exc
        return batch


def _outbox_entry(event: EventEnvelope) -> dict[str, Any]:
    return {"topic": topic_of(event), "event": event.model_dump(mode="json")}


class BatchRelay:
    """Publishes an outbox document's events, then deletes it."""

    def __init__(self, store: JsonStateStore, sidecar: Sidecar) -> None:
        self.store = store
        self.sidecar = sidecar

    async def relay(self, batch_key: str) -> None:
        found = await self.store.get(batch_key)
        if found is None:
            return
        try:
            for entry in found.value["events"]:
                await self.sidecar.publish(
                    entry["topic"], EventEnvelope.model_validate(entry["event"])
                )
        except Exception as exc:
            log.warning("publish failed; events kept in the outbox", key=batch_key, error=str(exc))
            return
        with contextlib.suppress(EtagMismatch):
            await self.store.delete(batch_key, found.etag)


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
            items.append((product_key(p.product_id), _doc(p, [])))
            items.extend(
                (sku_key(v.sku), {"product_id": p.product_id, "variant_id": v.variant_id})
                for v in p.variants
            )
        await self.store.bulk_upsert(items)

    async def mark(self, marker: dict[str, Any]) -> None:
        await self.store.bulk_upsert([(SEED_MARKER, marker)])


class DaprIndexSource:
    """Everything the read model needs, read with the state query API (`kind` field)."""

    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def product_docs(self) -> AsyncIterator[SourceDoc[Product]]:
        async for doc in self.store.query({"EQ": {"kind": "product"}}):
            raw = doc.value
            yield SourceDoc(
                raw["product"]["product_id"],
                doc.etag,
                lambda raw=raw: None
                if raw.get("deleted")
                else Product.model_validate(raw["product"]),
            )

    async def stock_docs(self) -> AsyncIterator[SourceDoc[StockRecord]]:
        async for doc in self.store.query({"EQ": {"kind": "stock"}}):
            raw = doc.value
            yield SourceDoc(raw["sku"], doc.etag, lambda raw=raw: StockRecord.model_validate(raw))

    async def categories(self) -> list[Category]:
        return [c for c, _ in (await categories_with_etags(self.store)).values()]

    async def ratings(self) -> dict[str, RatingSummary]:
        return await DaprReviewRepository(self.store).all_stats()


def category_doc(category: Category) -> dict[str, Any]:
    return {"kind": "category", "category": category.model_dump(mode="json")}


async def categories_with_etags(store: JsonStateStore) -> dict[str, tuple[Category, str]]:
    found = {}
    async for doc in store.query({"EQ": {"kind": "category"}}):
        category = Category.model_validate(doc.value["category"])
        found[category.slug] = (category, doc.etag)
    return found


class DaprCategoryRepository:
    """Category documents; each change commits with an outbox document of its event."""

    def __init__(self, store: JsonStateStore, relay: BatchRelay) -> None:
        self.store = store
        self.relay = relay

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
        outbox = {
            "kind": "outbox",
            "created_at": utcnow().isoformat(),
            "events": [_outbox_entry(event)],
        }
        try:
            await self.store.transact([op, Upsert(batch, outbox)])
        except EtagMismatch as exc:
            raise StaleWrite(op.key) from exc
        await self.relay.relay(batch)


# -- reviews ---------------------------------------------------------------------------------
def review_key(review_id: str) -> str:
    return f"review:{review_id}"


def review_author_key(product_id: str, user_id: str) -> str:
    return f"review-by:{product_id}:{user_id}"


def review_stats_key(product_id: str) -> str:
    return f"review-stats:{product_id}"


class DaprReviewRepository:
    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def product_status(self, product_id: str) -> ProductStatus | None:
        found = await self.store.get(product_key(product_id))
        if found is None or found.value.get("deleted"):
            return None
        return ProductStatus(found.value["product"]["status"])

    async def get(self, review_id: str) -> tuple[Review, str] | None:
        found = await self.store.get(review_key(review_id))
        return (Review.model_validate(found.value["review"]), found.etag) if found else None

    async def author_claimed(self, product_id: str, user_id: str) -> bool:
        return await self.store.get(review_author_key(product_id, user_id)) is not None

    async def stats(self, product_id: str) -> tuple[RatingSummary, str | None]:
        found = await self.store.get(review_stats_key(product_id))
        if found is None:
            return RatingSummary(), None
        return RatingSummary.model_validate(found.value["summary"]), found.etag

    async def save(
        self,
        before: tuple[Review, str] | None,
        after: Review | None,
        stats: RatingSummary,
        stats_etag: str | None,
    ) -> None:
        review = after or (before[0] if before else None)
        assert review is not None
        ops: list[Upsert | Delete] = []
        if after is None and before is not None:  # delete: free the author's slot too
            ops += [
                Delete(review_key(review.review_id), before[1]),
                Delete(review_author_key(review.product_id, review.user_id)),
            ]
        elif before is None:  # create: claim the author's slot, insert-only
            ops += [
                Upsert(review_key(review.review_id), _review_doc(review), insert_only=True),
                Upsert(
                    review_author_key(review.product_id, review.user_id),
                    {"review_id": review.review_id},
                    insert_only=True,
                ),
            ]
        else:
            ops.append(Upsert(review_key(review.review_id), _review_doc(review), before[1]))
        ops.append(
            Upsert(
                review_stats_key(review.product_id),
                {
                    "kind": "review-stats",
                    "product_id": review.product_id,
                    "summary": stats.model_dump(mode="json"),
                },
                stats_etag,
                insert_only=stats_etag is None,
            )
        )
        try:
            await self.store.transact(ops)
        except EtagMismatch as exc:
            raise StaleWrite(review.review_id) from exc

    async def published(self, product_id: str) -> list[Review]:
        return await self._find(
            {
                "AND": [
                    {"EQ": {"kind": "review"}},
                    {"EQ": {"review.product_id": product_id}},
                    {"EQ": {"review.status": ReviewStatus.PUBLISHED.value}},
                ]
            }
        )

    async def with_status(self, status: ReviewStatus) -> list[Review]:
        return await self._find(
            {"AND": [{"EQ": {"kind": "review"}}, {"EQ": {"review.status": status.value}}]}
        )

    async def _find(self, filter_: dict[str, Any]) -> list[Review]:
        return [
            Review.model_validate(doc.value["review"]) async for doc in self.store.query(filter_)
        ]

    async def all_stats(self) -> dict[str, RatingSummary]:
        return {
            doc.value["product_id"]: RatingSummary.model_validate(doc.value["summary"])
            async for doc in self.store.query({"EQ": {"kind": "review-stats"}})
        }


def _review_doc(review: Review) -> dict[str, Any]:
    return {"kind": "review", "review": review.model_dump(mode="json")}
