"""Listings from presorted orders (apps/catalog/listings.py): the same answers as filtering
and sorting the catalog per request, and only the changes that can reorder rebuild them."""

from decimal import Decimal

import pytest

from apps.catalog.listings import Bounded
from apps.catalog.search import CatalogIndex
from apps.catalog.seed import categories, products
from apps.contracts.catalog import ListFilters, ProductStatus, SortField

SORT_KEYS = {
    SortField.PRICE: lambda e: e.price,
    SortField.NAME: lambda e: e.name_key,
    SortField.NEWEST: lambda e: e.product.published_at or e.product.created_at,
    SortField.POPULARITY: lambda e: e.product.analytics.purchases,
    SortField.RATING: lambda e: (e.rating, e.review_count),
}


@pytest.fixture(scope="module")
def index() -> CatalogIndex:
    idx = CatalogIndex()
    idx.set_categories(categories())
    for p in products(600):
        idx.upsert(p)
    return idx


def by_hand(
    index: CatalogIndex,
    category: str | None,
    low: Decimal | None,
    high: Decimal | None,
    sort: SortField,
    descending: bool,
) -> list[str]:
    """Filter and sort the whole catalog, as every request did before."""
    allowed = index.descendants(category) if category else None
    hits = [
        e
        for e in index.entries.values()
        if e.product.status == ProductStatus.ACTIVE
        and (allowed is None or e.product.category_slug in allowed)
        and (low is None or e.price >= low)
        and (high is None or e.price <= high)
    ]
    hits.sort(key=lambda e: e.product.product_id)
    hits.sort(key=SORT_KEYS[sort], reverse=descending)
    return [e.product.product_id for e in hits]


@pytest.mark.parametrize("sort", list(SORT_KEYS))
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("category", [None, "electronics", "fashion-shoes"])
def test_a_new_price_filter_lists_what_a_full_filter_and_sort_would(
    index: CatalogIndex, sort: SortField, descending: bool, category: str | None
) -> None:
    for low, high in [(None, Decimal("73.19")), (Decimal("20"), Decimal("240.5")), (None, None)]:
        filters = ListFilters(price_min=low, price_max=high)
        expected = by_hand(index, category, low, high, sort, descending)
        hits = index.hits(category, filters, sort=sort, descending=descending)
        assert [e.product.product_id for e in hits] == expected
        page = index.query(
            category=category, filters=filters, sort=sort, descending=descending, page=2, limit=7
        )
        assert [p.product_id for p in page.items] == expected[7:14]
        assert page.total == len(expected)


def test_stock_changes_keep_the_sort_orders_and_show_in_listings() -> None:
    idx = CatalogIndex()
    idx.set_categories(categories())
    items = [p for p in products(80) if p.status == ProductStatus.ACTIVE]
    for p in items:
        idx.upsert(p)
    orders = idx.sort_orders()
    in_stock = ListFilters(in_stock=True)
    before = idx.query(filters=in_stock, sort=SortField.PRICE, limit=100).total
    target = next(p for p in items if idx.entries[p.product_id].available > 0)
    for variant in target.variants:
        idx.set_sku_available(target.product_id, variant.sku, 0)
    assert idx.sort_orders() is orders  # nothing to re-sort
    assert idx.query(filters=in_stock, sort=SortField.PRICE, limit=100).total == before - 1

    bumped = target.model_copy(
        update={"analytics": target.analytics.model_copy(update={"purchases": 10**6})}
    )
    idx.upsert(bumped)
    assert idx.sort_orders() is not orders  # a product change can reorder
    assert idx.query(sort=SortField.POPULARITY, limit=1).items[0].product_id == target.product_id


def test_an_unchanged_rating_keeps_cached_answers() -> None:
    idx = CatalogIndex()
    idx.set_categories(categories())
    item = next(p for p in products(20) if p.status == ProductStatus.ACTIVE)
    idx.upsert(item)
    idx.set_rating(item.product_id, Decimal("4.5"), 2)
    version = idx.version
    idx.set_rating(item.product_id, Decimal("4.5"), 2)  # every reload tells it again
    assert idx.version == version


def test_the_bounded_cache_drops_the_least_recently_used_first() -> None:
    cache: Bounded[str, int] = Bounded(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)  # a one-off key pushes out "b", not everything
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
