"""The read model's refresh: only changed documents are parsed, vanished ones dropped."""

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from apps.catalog.browse import BrowseService, SourceDoc
from apps.catalog.inventory import Hold, StockRecord
from apps.catalog.seed import categories, products
from apps.contracts.catalog import Category, ListFilters, Product, RatingSummary
from apps.platform.state import IncompleteScan
from tests.unit.test_search import NOW


class FakeSource:
    def __init__(self, items: list[Product]) -> None:
        self.docs = {p.product_id: (p, "1") for p in items}
        self.stock: dict[str, StockRecord] = {}
        self.parsed: list[str] = []

    async def product_docs(self) -> AsyncIterator[SourceDoc[Product]]:
        for pid, (product, etag) in list(self.docs.items()):

            def load(product: Product = product) -> Product:
                self.parsed.append(product.product_id)
                return product

            yield SourceDoc(pid, etag, load)

    async def stock_docs(self) -> AsyncIterator[SourceDoc[StockRecord]]:
        for sku, rec in self.stock.items():
            yield SourceDoc(sku, "1", lambda rec=rec: rec)

    async def categories(self) -> list[Category]:
        return categories()

    async def ratings(self) -> dict[str, RatingSummary]:
        return {}


def test_refresh_parses_only_changes_and_drops_vanished() -> None:
    items = list(products(50))
    source = FakeSource(items)
    browse = BrowseService(source)
    assert asyncio.run(browse.reload()) == 50
    assert len(source.parsed) == 50

    source.parsed.clear()
    renamed = items[0].model_copy(update={"name": "Qwertyuiop Special"})
    source.docs[renamed.product_id] = (renamed, "2")
    del source.docs[items[1].product_id]
    variant = items[2].variants[0]
    source.stock[variant.sku] = StockRecord(
        sku=variant.sku,
        product_id=items[2].product_id,
        variant_id=variant.variant_id,
        on_hand=variant.stock,
        holds={"o": Hold(quantity=variant.stock, expires_at=NOW.replace(year=2099))},
    )
    assert asyncio.run(browse.reload()) == 49
    assert source.parsed == [renamed.product_id]
    assert browse.index.query(q="qwertyuiop").total == (1 if renamed.status == "active" else 0)
    assert items[1].product_id not in browse.index.entries
    entry = browse.index.entries[items[2].product_id]
    assert entry.sku_available[variant.sku] == 0


def test_facets_are_cached_until_the_index_changes() -> None:
    items = list(products(200))
    browse = BrowseService(FakeSource(items))
    asyncio.run(browse.reload())
    first = browse.facets(category="fashion", filters=ListFilters(), q=None)
    assert browse.facets(category="fashion", filters=ListFilters(), q=None) is first
    changed = next(
        p for p in items if p.category_slug.startswith("fashion-") and p.status == "active"
    )
    browse.product_removed(changed.product_id)
    after = browse.facets(category="fashion", filters=ListFilters(), q=None)
    assert after is not first and after.total == first.total - 1


def test_related_puts_recommended_picks_first_then_the_category() -> None:
    items = [p for p in products(200) if p.status == "active" and p.variants[0].stock > 0]
    browse = BrowseService(FakeSource(items))
    asyncio.run(browse.reload())
    anchor = items[0]
    plain = browse.related(anchor.product_id, 5)
    far = next(p for p in items if p.category_slug != anchor.category_slug)
    picks = [far.product_id, "no-such-product", anchor.product_id]
    page = browse.related(anchor.product_id, 5, picks)
    ids = [p.product_id for p in page.items]
    assert ids[0] == far.product_id  # the recommendation, though from another category
    assert anchor.product_id not in ids and "no-such-product" not in ids
    assert ids[1:] == [p.product_id for p in plain.items][:4]


class BrokenSource(FakeSource):
    """Fails its product scan after `good` documents (as an incomplete scan does)."""

    def __init__(self, items: list[Product], good: int) -> None:
        super().__init__(items)
        self.good = good

    async def product_docs(self) -> AsyncIterator[SourceDoc[Product]]:
        count = 0
        async for doc in super().product_docs():
            if count == self.good:
                raise IncompleteScan("page could not be anchored")
            count += 1
            yield doc


def test_an_incomplete_scan_changes_nothing_and_a_first_one_leaves_it_unloaded() -> None:
    items = list(products(60))
    browse = BrowseService(BrokenSource(items, good=20))
    with pytest.raises(IncompleteScan):
        asyncio.run(browse.reload())
    assert browse.loaded_at is None and not browse.index.entries  # not ready

    source = FakeSource(items)
    browse = BrowseService(source)
    asyncio.run(browse.reload())
    broken = BrokenSource(items, good=10)
    browse.source = broken
    with pytest.raises(IncompleteScan):
        asyncio.run(browse.reload())
    assert len(browse.index.entries) == 60  # nothing the broken scan missed was dropped


class WritingSource(FakeSource):
    """Lets the app write a product while its scan is half way (a racing staff edit)."""

    def __init__(self, items: list[Product], during: Callable[[], None]) -> None:
        super().__init__(items)
        self.during = during

    async def product_docs(self) -> AsyncIterator[SourceDoc[Product]]:
        for i, (pid, (product, etag)) in enumerate(list(self.docs.items())):
            if i == len(self.docs) // 2:
                self.during()
            yield SourceDoc(pid, etag, lambda product=product: product)


@pytest.mark.parametrize("first", [True, False])
def test_writes_made_while_a_scan_runs_are_kept(first: bool) -> None:
    items = list(products(40))
    created = list(products(41))[-1].model_copy(update={"product_id": "p-new-during-scan"})
    renamed = items[0].model_copy(update={"name": "Renamed During Scan"})
    holder: list[BrowseService] = []

    def write() -> None:
        holder[0].product_written(created)  # not in the scan: must not be dropped
        holder[0].product_written(renamed)  # the scan read the old name first
        holder[0].product_removed(items[-1].product_id)  # the scan still sees it

    browse = BrowseService(FakeSource(items))
    holder.append(browse)
    if not first:
        asyncio.run(browse.reload())
    browse.source = WritingSource(items, write)
    asyncio.run(browse.reload())
    assert browse.index.entries[created.product_id].product == created
    assert browse.index.entries[renamed.product_id].product.name == "Renamed During Scan"
    assert items[-1].product_id not in browse.index.entries
