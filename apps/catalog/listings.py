"""What a listing is made of: index entries, the filters as tests over them, and the sort
orders of one index shape.

Why this shape: a listing page must cost what its items cost, also when nobody asked for
that listing before (a new price filter). So each sort's full order over the active
products is built once per shape of the index (products and ratings; stock changes do not
reorder anything), a listing is a scan of that presorted list, and a price filter is a
linear pass over the listing without it, never a sort. Pure: no I/O.
"""

from collections import OrderedDict
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, Generic, TypeVar

from apps.catalog.text import normalize
from apps.contracts.catalog import ListFilters, Product, ProductStatus, ProductSummary, SortField

PRICE_BANDS: list[tuple[Decimal, Decimal | None]] = [
    (Decimal(0), Decimal(25)),
    (Decimal(25), Decimal(50)),
    (Decimal(50), Decimal(100)),
    (Decimal(100), Decimal(250)),
    (Decimal(250), Decimal(500)),
    (Decimal(500), Decimal(1000)),
    (Decimal(1000), None),
]
DESCENDING_BY_DEFAULT = frozenset(
    {SortField.NEWEST, SortField.POPULARITY, SortField.RATING, SortField.RELEVANCE}
)
K = TypeVar("K")
V = TypeVar("V")


def price_band(amount: Decimal) -> str:
    for low, high in PRICE_BANDS:
        if high is None or amount < high:
            return f"{low}-{high}" if high is not None else f"{low}+"
    raise AssertionError("unreachable")


def attribute_values(product: Product) -> dict[str, list[str]]:
    """Each attribute key of the product and of its variants, with every value it takes."""
    found: dict[str, list[str]] = {k: [v] for k, v in product.attributes.items()}
    for variant in product.variants:
        for k, v in variant.attributes.items():
            found.setdefault(k, []).append(v)
    return found


class Entry:
    """One product in the read model, with what listings compare computed once per version
    of the product (the entry is replaced when the product changes)."""

    __slots__ = (
        "_detail",
        "_summary",
        "_summary_json",
        "active",
        "attribute_keys",
        "attributes",
        "available",
        "band",
        "brand_key",
        "category",
        "etag",
        "facet_values",
        "name_key",
        "price",
        "product",
        "rating",
        "review_count",
        "sku_available",
        "terms",
    )

    def __init__(
        self,
        product: Product,
        terms: dict[str, float],
        rating: Decimal = Decimal("0"),
        review_count: int = 0,
        sku_available: dict[str, int] | None = None,
        etag: str | None = None,
    ) -> None:
        self.product = product
        self.terms = terms
        self.rating = rating
        self.review_count = review_count
        self.sku_available = sku_available or {}
        #: The store's ETag of this version of the product (what `If-Match` names); None
        #: when this instance has not read it back (the product page then reads the store).
        self.etag = etag
        self.category = product.category_slug
        self.price = product.price.amount
        self.active = product.status == ProductStatus.ACTIVE
        self.brand_key = normalize(product.brand)
        self.name_key = normalize(product.name)
        self.band = price_band(self.price)
        self.attributes = attribute_values(product)
        self.attribute_keys = {
            k: frozenset(normalize(v) for v in vs) for k, vs in self.attributes.items()
        }
        #: (facet, value) pairs this product counts in (all but `in_stock`, which changes
        #: with stock), each value once per facet.
        self.facet_values: dict[str, tuple[str, ...]] = {
            "category": (self.category,),
            "brand": (product.brand,),
            "price": (self.band,),
            **{f"attr:{k}": tuple(dict.fromkeys(vs)) for k, vs in self.attributes.items()},
        }
        self._summary: ProductSummary | None = None
        self._summary_json: bytes | None = None
        self._detail: bytes | None = None
        self.available = 0
        self.recount()

    def recount(self) -> None:
        """Product availability: each variant's live figure, else its catalog stock."""
        self.available = sum(
            max(self.sku_available.get(v.sku, v.stock), 0) for v in self.product.variants
        )
        self._summary = self._summary_json = None

    def rated(self, average: Decimal, count: int) -> None:
        self.rating, self.review_count = average, count
        self._summary = self._summary_json = None

    def summary(self) -> ProductSummary:
        """The listing's view of the product, built once per change of the entry."""
        if self._summary is None:
            p = self.product
            self._summary = ProductSummary(
                product_id=p.product_id,
                name=p.name,
                slug=p.slug,
                brand=p.brand,
                category_slug=p.category_slug,
                price=p.price,
                image=min(p.images, key=lambda i: i.order) if p.images else None,
                rating=self.rating,
                review_count=self.review_count,
                available=self.available,
                in_stock=self.available > 0,
            )
        return self._summary

    def summary_json(self) -> bytes:
        """The summary as pydantic encodes it, kept with it: a page is a join of these."""
        if self._summary_json is None:
            self._summary_json = self.summary().model_dump_json().encode()
        return self._summary_json

    def detail(self) -> bytes:
        """The product page's JSON, encoded once per version of the product."""
        if self._detail is None:
            self._detail = self.product.model_dump_json().encode()
        return self._detail


Test = Callable[[Entry], bool]


def page_json(hits: list[Entry], page: int, limit: int) -> bytes:
    """A `ProductPage` of `hits` as the bytes `ProductPage.model_dump_json()` would give,
    joined from each entry's encoded summary (no model built, nothing encoded twice)."""
    start = (page - 1) * limit
    items = b",".join([e.summary_json() for e in hits[start : start + limit]])
    return b'{"items":[%b],"total":%d,"page":%d,"limit":%d}' % (items, len(hits), page, limit)


def filter_tests(
    filters: ListFilters, allowed: frozenset[str] | None, *, price: bool = True
) -> list[tuple[str, Test]]:
    """The filters as named tests (an entry passes a listing when it passes every test; a
    facet counts the entries that fail at most its own). `price=False` leaves the price
    range out, for listings that apply it as a pass of their own."""
    tests: list[tuple[str, Test]] = []
    if allowed is not None:
        tests.append(("category", lambda e: e.category in allowed))
    if filters.brand:
        brands = frozenset(normalize(b) for b in filters.brand)
        tests.append(("brand", lambda e: e.brand_key in brands))
    low, high = filters.price_min, filters.price_max
    if price and (low is not None or high is not None):
        tests.append(("price", price_test(low, high)))
    if filters.in_stock is not None:
        wanted = filters.in_stock
        tests.append(("in_stock", lambda e: (e.available > 0) == wanted))
    if filters.rating_min is not None:
        floor = filters.rating_min
        tests.append(("rating", lambda e: e.rating >= floor))
    for key, values in filters.attributes.items():
        if values:
            accepted = frozenset(normalize(v) for v in values)
            tests.append((f"attr:{key}", _attribute_test(key, accepted)))
    return tests


def price_test(low: Decimal | None, high: Decimal | None) -> Test:
    if low is None:
        assert high is not None
        return lambda e: e.price <= high
    if high is None:
        return lambda e: e.price >= low
    return lambda e: low <= e.price <= high


def _attribute_test(key: str, accepted: frozenset[str]) -> Test:
    return lambda e: not accepted.isdisjoint(e.attribute_keys.get(key, ()))


def passing(entries: Iterable[Entry], tests: list[tuple[str, Test]]) -> list[Entry]:
    """The entries that pass every test, in their order."""
    checks = [t for _, t in tests]
    if not checks:
        return list(entries)
    if len(checks) == 1:
        (only,) = checks
        return [e for e in entries if only(e)]
    return [e for e in entries if all(t(e) for t in checks)]


def sort_key(sort: SortField, scores: dict[str, float]) -> Callable[[Entry], Any]:
    return {
        SortField.PRICE: lambda e: e.price,
        SortField.NAME: lambda e: e.name_key,
        SortField.NEWEST: lambda e: e.product.published_at or e.product.created_at,
        SortField.POPULARITY: lambda e: e.product.analytics.purchases,
        SortField.RATING: lambda e: (e.rating, e.review_count),
        SortField.RELEVANCE: lambda e: scores.get(e.product.product_id, 0.0),
    }[sort]


def sort_entries(
    entries: list[Entry], sort: SortField, descending: bool, scores: dict[str, float]
) -> None:
    """In place; ties by product id, ascending either way (a stable sort reversed keeps it)."""
    entries.sort(key=lambda e: e.product.product_id)
    entries.sort(key=sort_key(sort, scores), reverse=descending)


class SortOrders:
    """The active products in each sort order, for one shape of the index (which products,
    their fields, ratings and categories), whole and per category. Each order is built on
    first use: one sort per order and shape, however many listings, filters and pages read
    it."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.active = sorted((e for e in entries if e.active), key=lambda e: e.product.product_id)
        self._orders: dict[tuple[SortField, bool, str | None], list[Entry]] = {}

    def order(
        self,
        sort: SortField,
        descending: bool,
        category: str | None = None,
        allowed: frozenset[str] = frozenset(),
    ) -> list[Entry]:
        """The order of the whole catalog, or of `category` (whose slugs are `allowed`)."""
        key = (sort, descending, category)
        found = self._orders.get(key)
        if found is None:
            if category is None:
                found = list(self.active)  # already by product id: the tie-break
                found.sort(key=sort_key(sort, {}), reverse=descending)
            else:
                found = [e for e in self.order(sort, descending) if e.category in allowed]
            self._orders[key] = found
        return found


class Bounded(Generic[K, V]):
    """A small least-recently-used map: a stream of one-off keys (a new filter per
    request) pushes out the oldest answers, not the whole cache at once."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
