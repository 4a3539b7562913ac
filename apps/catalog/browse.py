"""Browsing use cases over the read model (apps/catalog/search.py).

Each catalog instance holds the index in memory. It is loaded from the state store at start
(state query API: every product, category and stock document), updated at once by this
instance's own writes and, on every replica, by the product, category and stock events of
any replica (`pubsub-broadcast`: each sidecar its own consumer group, so each replica gets
every event, and applies what the store holds then). A reload every
`CATALOG_INDEX_REFRESH_SECONDS` catches anything an event missed (and ratings). Reads never
touch the store: browsing stays fast as the catalog grows, and a first load swaps a fully
built index in one assignment.
"""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, Protocol, TypeVar

import structlog
from pydantic import BaseModel

from apps.catalog import inventory
from apps.catalog.inventory import StockRecord
from apps.catalog.listings import page_json
from apps.catalog.search import CatalogIndex
from apps.contracts.catalog import (
    Category,
    Facets,
    ListFilters,
    Product,
    ProductPage,
    ProductStatus,
    RatingSummary,
    SortField,
)
from apps.contracts.errors import NotFound

log = structlog.stdlib.get_logger("catalog.browse")
T = TypeVar("T")
FACET_CACHE_SIZE = 512
#: How far apart two apps' clocks may be when an event's time is compared with a scan's.
EVENT_CLOCK_SKEW = timedelta(seconds=60)


@dataclass(frozen=True)
class SourceDoc(Generic[T]):
    """A stored document seen by a scan: its id, its ETag, and how to parse it (only done
    when the ETag changed since the last scan). `load()` gives None for a deleted one."""

    id: str
    etag: str
    load: Callable[[], T | None]


class IndexSource(Protocol):
    def product_docs(self) -> AsyncIterator[SourceDoc[Product]]: ...

    async def product_doc(self, product_id: str) -> SourceDoc[Product] | None: ...

    async def stock_records(self, skus: list[str]) -> list[StockRecord]: ...

    def stock_docs(self) -> AsyncIterator[SourceDoc[StockRecord]]: ...

    async def categories(self) -> list[Category]: ...

    async def ratings(self) -> dict[str, RatingSummary]: ...


class CategoryNode(BaseModel):
    slug: str
    name: str
    parent_slug: str | None
    description: str
    product_count: int
    children: list["CategoryNode"]


class CategoryDetail(CategoryNode):
    breadcrumb: list[Category]


class BrowseService:
    def __init__(self, source: IndexSource) -> None:
        self.source = source
        self.index = CatalogIndex()
        self.loaded_at: datetime | None = None
        #: When the first complete scan began: an event from before it is in that scan.
        self.scan_began: datetime | None = None
        self._etags: dict[str, str] = {}
        #: Facets cost a pass over the catalog: cached per index version (any change to the
        #: index makes the old answers unreachable).
        self._facets: dict[tuple[object, ...], Facets] = {}
        #: Products this instance wrote or removed while a reload was scanning: the scan may
        #: have read them before the write, so the write stands and the next scan checks.
        self._written_during_scan: set[str] | None = None
        #: The category tree's counts, per index version.
        self._counted: tuple[int, int, Counter[str]] | None = None

    # -- keeping the index current --------------------------------------------------------
    async def reload(self) -> int:
        """First call: build the index. Later calls: apply only documents whose ETag changed
        since the last scan, so a refresh costs a scan of ETags, not a re-parse of the catalog.

        The scan is complete or it raises (`JsonStateStore.scan`): a failed or partial scan
        changes nothing and, on the first load, leaves the app not ready. A product leaves
        the index by its tombstone (`deleted`) or by being absent from a complete scan,
        never because a scan missed it; one written here while the scan ran keeps this
        instance's write."""
        first = self.loaded_at is None
        began = datetime.now(UTC)
        index = CatalogIndex() if first else self.index
        categories = await self.source.categories()
        self._written_during_scan = written = set[str]()
        try:
            docs = [doc async for doc in self.source.product_docs()]
        finally:
            self._written_during_scan = None
        index.set_categories(categories)
        seen: set[str] = set()
        for doc in docs:
            seen.add(doc.id)
            if doc.id in written:
                self._etags.pop(f"p:{doc.id}", None)  # look again next time
                continue
            if self._etags.get(f"p:{doc.id}") == doc.etag:
                continue
            product = doc.load()
            self._etags[f"p:{doc.id}"] = doc.etag
            if product is None:
                index.remove(doc.id)
            else:
                index.upsert(product, doc.etag)
        for vanished in set(index.entries) - seen - written:
            index.remove(vanished)
            self._etags.pop(f"p:{vanished}", None)
        if first:  # writes made during the first scan went to the index being replaced
            for product_id in written:
                entry = self.index.entries.get(product_id)
                if entry is None:
                    index.remove(product_id)
                else:
                    index.upsert(entry.product, entry.etag)
        now = datetime.now(UTC)
        async for stock in self.source.stock_docs():
            record = stock.load()
            if record is not None:  # holds lapse with time: recompute availability every scan
                index.set_sku_available(
                    record.product_id, record.sku, inventory.available(record, now)
                )
        for product_id, summary in (await self.source.ratings()).items():
            index.set_rating(product_id, summary.average, summary.count)
        if first:
            self.index = index  # one assignment: readers never see a half-built index
            self.scan_began = began
        self.loaded_at = now
        return len(index.entries)

    async def refresh_forever(self, every_seconds: float) -> None:
        while True:
            # Retry soon while never loaded, then at the configured interval.
            await asyncio.sleep(every_seconds if self.loaded_at else min(every_seconds, 2))
            try:
                await self.reload()
            except Exception as exc:  # keep serving the last good index
                log.warning("index refresh failed", error=str(exc))

    # -- every replica's events (pubsub-broadcast) ----------------------------------------
    def _in_first_scan(self, occurred_at: datetime) -> bool:
        """The event happened well before this instance's first complete scan began, so the
        scan saw its effect (a new subscriber may be handed the topic's history)."""
        began = self.scan_began
        return began is not None and occurred_at < began - EVENT_CLOCK_SKEW

    async def product_event(
        self, product_id: str, occurred_at: datetime, seen: Product | None = None
    ) -> None:
        """A product changed on some replica: apply what the store holds now. Reading the
        store, not the event, makes redeliveries, reordering and replays harmless; an
        older version never replaces a newer one. `seen`, the product as the event carries
        it: when this replica already holds that version or a newer one with its store tag
        (its own write, a duplicate), there is nothing to read."""
        if self._in_first_scan(occurred_at):
            return
        held = self.index.entries.get(product_id)
        if (
            seen is not None
            and held is not None
            and held.etag is not None
            and held.product.updated_at >= seen.updated_at
        ):
            return
        doc = await self.source.product_doc(product_id)
        product = doc.load() if doc is not None else None
        if doc is None or product is None:
            self.product_removed(product_id)
            return
        entry = self.index.entries.get(product_id)
        if entry is not None and (
            entry.etag == doc.etag or entry.product.updated_at > product.updated_at
        ):
            return
        self.product_written(product, doc.etag)

    async def stock_event(self, skus: list[str], occurred_at: datetime) -> None:
        """Stock of `skus` changed on some replica: apply the stored figures."""
        if skus and not self._in_first_scan(occurred_at):
            self.stock_written(await self.source.stock_records(skus))

    async def categories_event(self, occurred_at: datetime) -> None:
        if not self._in_first_scan(occurred_at):
            self.index.set_categories(await self.source.categories())

    def categories_changed(self, categories: list[Category]) -> None:
        self.index.set_categories(categories)

    def rating_changed(self, product_id: str, summary: RatingSummary) -> None:
        self.index.set_rating(product_id, summary.average, summary.count)

    def product_written(self, product: Product, etag: str | None = None) -> None:
        if self._written_during_scan is not None:
            self._written_during_scan.add(product.product_id)
        entry = self.index.entries.get(product.product_id)
        if entry is not None and etag is not None and entry.product == product:
            entry.etag = etag  # the same version read back with its tag: nothing to re-index
            return
        self.index.upsert(product, etag)

    def public_product(self, product_id: str) -> tuple[bytes, str] | None:
        """An active product's page (JSON) and its store ETag, from the read model; None
        when the read model cannot tell (not there, not active, or its tag unknown), and
        the store must be asked. Staff writes name this ETag in `If-Match`, so it is only
        ever the tag the store gave this version of the product."""
        entry = self.index.entries.get(product_id)
        if entry is None or not entry.active or entry.etag is None:
            return None
        return entry.detail(), entry.etag

    def product_read(self, product: Product, etag: str) -> None:
        """The store's current product, read for a page the read model could not answer:
        keep its tag if the read model holds that very version."""
        entry = self.index.entries.get(product.product_id)
        if entry is not None and entry.etag is None and entry.product == product:
            entry.etag = etag

    def product_removed(self, product_id: str) -> None:
        if self._written_during_scan is not None:
            self._written_during_scan.add(product_id)
        self.index.remove(product_id)

    def stock_written(self, records: list[StockRecord]) -> None:
        now = datetime.now(UTC)
        for rec in records:
            self.index.set_sku_available(rec.product_id, rec.sku, inventory.available(rec, now))

    # -- queries --------------------------------------------------------------------------
    def products_json(
        self,
        *,
        category: str | None,
        filters: ListFilters,
        q: str | None,
        sort: SortField | None,
        descending: bool | None,
        page: int,
        limit: int,
    ) -> bytes:
        """A page of the listing as JSON bytes (a `ProductPage`), joined from the summaries'
        cached encodings."""
        if category and category not in self.index.categories:
            raise NotFound("Category not found", category=category)
        hits = self.index.hits(category, filters, q, sort, descending)
        return page_json(hits, page, limit)

    def facets(self, *, category: str | None, filters: ListFilters, q: str | None) -> Facets:
        if category and category not in self.index.categories:
            raise NotFound("Category not found", category=category)
        key = (id(self.index), self.index.version, category, filters.model_dump_json(), q)
        cached = self._facets.get(key)
        if cached is None:
            cached = self.index.facets(category=category, filters=filters, q=q)
            if len(self._facets) >= FACET_CACHE_SIZE:
                self._facets.clear()  # everything in it is about to be stale anyway
            self._facets[key] = cached
        return cached

    def featured(self, limit: int) -> ProductPage:
        """Best sellers that can be bought now."""
        return self.index.query(
            filters=ListFilters(in_stock=True), sort=SortField.POPULARITY, limit=limit
        )

    def related(
        self, product_id: str, limit: int, suggested: list[str] | None = None
    ) -> ProductPage:
        """The recommendations app's picks (`suggested`) that are active and in stock, then
        the same category closest in price, in stock (all of it when the app is away)."""
        entry = self.index.entries.get(product_id)
        if entry is None or entry.product.status != ProductStatus.ACTIVE:
            raise NotFound("Product not found", product_id=product_id)
        picked = []
        for pid in suggested or []:
            other = self.index.entries.get(pid)
            if other is None or pid == product_id:
                continue
            summary = other.summary()
            if other.product.status == ProductStatus.ACTIVE and summary.in_stock:
                picked.append(summary)
        chosen = {p.product_id for p in picked} | {product_id}
        pool = [
            e
            for e in self.index.hits(entry.product.category_slug, ListFilters(in_stock=True))
            if e.product.product_id not in chosen
        ]
        nearest = sorted(pool, key=lambda e: (abs(e.price - entry.price), e.product.product_id))
        items = (picked + [e.summary() for e in nearest[: max(limit - len(picked), 0)]])[:limit]
        return ProductPage(items=items, total=len(picked) + len(pool), page=1, limit=limit)

    def category_tree(self) -> list[CategoryNode]:
        counts = self._counts()
        return [self._node(c, counts) for c in self._children(None)]

    def category(self, slug: str) -> CategoryDetail:
        found = self.index.categories.get(slug)
        if found is None:
            raise NotFound("Category not found", slug=slug)
        trail, current = [], found
        while current.parent_slug:
            current = self.index.categories[current.parent_slug]
            trail.append(current)
        node = self._node(found, self._counts())
        return CategoryDetail(**node.model_dump(), breadcrumb=trail[::-1])

    def _children(self, parent: str | None) -> list[Category]:
        kids = [c for c in self.index.categories.values() if c.parent_slug == parent]
        return sorted(kids, key=lambda c: (c.sort_order, c.name))

    def _counts(self) -> Counter[str]:
        """Active products per category, each counted in its category and every ancestor
        (once per index version)."""
        index = self.index
        if self._counted and self._counted[:2] == (id(index), index.version):
            return self._counted[2]
        counts: Counter[str] = Counter()
        for entry in self.index.entries.values():
            if entry.product.status != ProductStatus.ACTIVE:
                continue
            slug: str | None = entry.product.category_slug
            while slug is not None and slug in self.index.categories:
                counts[slug] += 1
                slug = self.index.categories[slug].parent_slug
        self._counted = (id(index), index.version, counts)
        return counts

    def _node(self, c: Category, counts: Counter[str]) -> CategoryNode:
        return CategoryNode(
            slug=c.slug,
            name=c.name,
            parent_slug=c.parent_slug,
            description=c.description,
            product_count=counts[c.slug],
            children=[self._node(k, counts) for k in self._children(c.slug)],
        )
