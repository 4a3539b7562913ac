"""The catalog's read model: an in-memory index of products for browsing, facets and search.

Pure (no I/O): the app loads it from the state store and keeps it current (see main.py).
- Filters: category with its descendants, brands, price range, in stock, rating, attributes.
- Facets count what the current filter set leaves, each facet ignoring its own filter (so a
  shopper sees how many items another brand or price band would give).
- Search: accents and case folded; every query word must match a term in the name, brand,
  category, attributes or description, exactly, as a prefix (the last word, while typing), or
  within a small edit distance (typos); ranked by field-weighted tf-idf.
"""

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from apps.contracts.catalog import (
    Category,
    Facets,
    FacetValue,
    ListFilters,
    Product,
    ProductPage,
    ProductStatus,
    ProductSummary,
    SortField,
)

FIELD_WEIGHTS = {"name": 3.0, "brand": 2.0, "category": 1.5, "attributes": 1.0, "description": 0.5}
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
_WORD = re.compile(r"[a-z0-9]+")


#: Distinct listings (filters x search x sort) whose sorted hits are kept per version.
HITS_CACHED = 256


def normalize(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def words(text: str) -> list[str]:
    return _WORD.findall(normalize(text))


def within(a: str, b: str, limit: int) -> bool:
    """The edit distance of a and b (insert, delete, substitute, swap two neighbours: the
    usual typos) is at most `limit`. Optimal string alignment, with an early exit."""
    if abs(len(a) - len(b)) > limit:
        return False
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i]
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, before[j - 2] + 1)
            current.append(value)
        if min(current) > limit:
            return False
        before, previous = previous, current
    return previous[-1] <= limit


def typo_budget(word: str) -> int:
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


def price_band(amount: Decimal) -> str:
    for low, high in PRICE_BANDS:
        if high is None or amount < high:
            return f"{low}-{high}" if high is not None else f"{low}+"
    raise AssertionError("unreachable")


@dataclass
class Entry:
    product: Product
    available: int
    terms: dict[str, float]
    rating: Decimal = Decimal("0")
    review_count: int = 0
    sku_available: dict[str, int] = field(default_factory=dict)

    _summary: ProductSummary | None = field(default=None, repr=False, compare=False)

    def recount(self) -> None:
        """Product availability: each variant's live figure, else its catalog stock."""
        self.available = sum(
            max(self.sku_available.get(v.sku, v.stock), 0) for v in self.product.variants
        )
        self._summary = None

    @property
    def price(self) -> Decimal:
        return self.product.price.amount

    def summary(self) -> ProductSummary:
        """The listing's view of the product, built once per change of the entry."""
        if self._summary is None:
            self._summary = self._build_summary()
        return self._summary

    def _build_summary(self) -> ProductSummary:
        p = self.product
        return ProductSummary(
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


@dataclass
class CatalogIndex:
    entries: dict[str, Entry] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)
    #: term -> {product id: field-weighted frequency}: search touches only matching products
    postings: dict[str, dict[str, float]] = field(default_factory=dict)
    #: category slug -> product ids filed directly under it
    by_category: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: Bumped by every change, so answers computed from an older index can be recognised.
    version: int = 0
    #: Sorted hits per (filters, search, sort) of the current version: paging through a
    #: listing filters and sorts the catalog once, then each page costs its own items.
    _hits: dict[tuple[object, ...], list[Entry]] = field(default_factory=dict, repr=False)
    _hits_version: int = -1

    # -- maintenance ---------------------------------------------------------------------
    def set_categories(self, categories: Iterable[Category]) -> None:
        self.version += 1
        self.categories = {c.slug: c for c in categories}

    def upsert(self, product: Product) -> None:
        self.version += 1
        old = self.entries.get(product.product_id)
        if old is not None:
            self._unlink(old)
        terms = self._terms(product)
        entry = Entry(
            product,
            0,
            terms,
            old.rating if old else Decimal("0"),
            old.review_count if old else 0,
            dict(old.sku_available) if old else {},
        )
        entry.recount()
        self.entries[product.product_id] = entry
        for term, weight in terms.items():
            self.postings.setdefault(term, {})[product.product_id] = weight
        self.by_category[product.category_slug].add(product.product_id)

    def set_sku_available(self, product_id: str, sku: str, available: int) -> None:
        entry = self.entries.get(product_id)
        if entry is not None and entry.sku_available.get(sku) != available:
            self.version += 1  # unchanged figures (every refresh) keep cached answers valid
            entry.sku_available[sku] = available
            entry.recount()

    def set_rating(self, product_id: str, average: Decimal, count: int) -> None:
        self.version += 1
        entry = self.entries.get(product_id)
        if entry is not None:
            entry.rating, entry.review_count = average, count
            entry._summary = None

    def remove(self, product_id: str) -> None:
        self.version += 1
        old = self.entries.pop(product_id, None)
        if old is not None:
            self._unlink(old)

    def doc_freq(self, term: str) -> int:
        return len(self.postings.get(term, ()))

    def _unlink(self, old: Entry) -> None:
        pid = old.product.product_id
        for term in old.terms:
            docs = self.postings.get(term)
            if docs is not None:
                docs.pop(pid, None)
                if not docs:
                    del self.postings[term]
        self.by_category[old.product.category_slug].discard(pid)

    def _terms(self, product: Product) -> dict[str, float]:
        category = self.categories.get(product.category_slug)
        fields = {
            "name": product.name,
            "brand": product.brand,
            "category": category.name if category else product.category_slug.replace("-", " "),
            "attributes": " ".join(
                [
                    *product.attributes.values(),
                    *(val for v in product.variants for val in v.attributes.values()),
                ]
            ),
            "description": product.description,
        }
        terms: dict[str, float] = defaultdict(float)
        for name, text in fields.items():
            for word in words(text):
                terms[word] += FIELD_WEIGHTS[name]
        return dict(terms)

    # -- queries -------------------------------------------------------------------------
    def descendants(self, slug: str) -> set[str]:
        children: dict[str | None, list[str]] = defaultdict(list)
        for c in self.categories.values():
            children[c.parent_slug].append(c.slug)
        found, stack = set(), [slug]
        while stack:
            current = stack.pop()
            found.add(current)
            stack.extend(children.get(current, []))
        return found

    def candidates(self, category: str | None) -> list[Entry]:
        """The entries a category (with its descendants) can return; all without one."""
        if category is None:
            return list(self.entries.values())
        return [
            self.entries[pid]
            for slug in self.descendants(category)
            for pid in self.by_category.get(slug, ())
        ]

    def expand(self, word: str, last: bool) -> dict[str, float]:
        """Terms a query word matches, with a penalty: exact 1, prefix 0.8, typo 0.6."""
        budget = typo_budget(word)
        options: dict[str, float] = {}
        if word in self.postings:
            options[word] = 1.0
        for term in self.postings:
            if term == word:
                continue
            if last and len(word) >= 2 and term.startswith(word):
                options[term] = 0.8
            elif budget and within(word, term, budget):
                options[term] = 0.6
        return options

    def search(self, q: str) -> dict[str, float]:
        """Scores of the products matching every word of `q` (empty when none do)."""
        query = words(q)
        if not query:
            return {}
        total = max(len(self.entries), 1)
        scores: dict[str, float] | None = None
        for i, word in enumerate(query):
            best: dict[str, float] = {}
            for term, penalty in self.expand(word, last=i == len(query) - 1).items():
                idf = math.log(1 + total / self.doc_freq(term))
                for pid, weight in self.postings[term].items():
                    value = weight * idf * penalty
                    if value > best.get(pid, 0.0):
                        best[pid] = value
            if scores is None:
                scores = best
            else:  # every word must match: keep products found by all words so far
                scores = {pid: s + best[pid] for pid, s in scores.items() if pid in best}
            if not scores:
                return {}
        return scores or {}

    def _failures(
        self, category: str | None, filters: ListFilters
    ) -> Callable[[Entry], frozenset[str]]:
        """Which filters an entry fails (inactive products fail everything): one pass gives
        both the hits (no failure) and every facet (at most its own filter failed)."""
        allowed = self.descendants(category) if category else None
        brands = {normalize(b) for b in filters.brand}
        attributes = {k: {normalize(v) for v in vs} for k, vs in filters.attributes.items() if vs}
        inactive = frozenset({"status"})

        def fails(e: Entry) -> frozenset[str]:
            p = e.product
            if p.status != ProductStatus.ACTIVE:
                return inactive
            failed = []
            if allowed is not None and p.category_slug not in allowed:
                failed.append("category")
            if brands and normalize(p.brand) not in brands:
                failed.append("brand")
            if (filters.price_min is not None and e.price < filters.price_min) or (
                filters.price_max is not None and e.price > filters.price_max
            ):
                failed.append("price")
            if filters.in_stock is not None and (e.available > 0) != filters.in_stock:
                failed.append("in_stock")
            if filters.rating_min is not None and e.rating < filters.rating_min:
                failed.append("rating")
            for key, wanted in attributes.items():
                if not {normalize(v) for v in _attribute_values(p, key)} & wanted:
                    failed.append(f"attr:{key}")
            return frozenset(failed)

        return fails

    def query(
        self,
        *,
        category: str | None = None,
        filters: ListFilters | None = None,
        q: str | None = None,
        sort: SortField | None = None,
        descending: bool | None = None,
        page: int = 1,
        limit: int = 24,
    ) -> ProductPage:
        """One page of active products. Sort defaults: relevance when searching, else
        popularity; descending by default for newest/popularity/rating/relevance."""
        filters = filters or ListFilters()
        hits = self._sorted_hits(category, filters, q, sort, descending)
        start = (page - 1) * limit
        return ProductPage(
            items=[e.summary() for e in hits[start : start + limit]],
            total=len(hits),
            page=page,
            limit=limit,
        )

    def _sorted_hits(
        self,
        category: str | None,
        filters: ListFilters,
        q: str | None,
        sort: SortField | None,
        descending: bool | None,
    ) -> list[Entry]:
        if self._hits_version != self.version:
            self._hits.clear()
            self._hits_version = self.version
        key = (category, filters.model_dump_json(), q, sort, descending)
        hits = self._hits.get(key)
        if hits is not None:
            return hits
        fails = self._failures(category, filters)
        scores = self.search(q) if q else None
        pool = (
            self.candidates(category) if scores is None else [self.entries[pid] for pid in scores]
        )
        hits = [e for e in pool if not fails(e)]
        sort = sort or (SortField.RELEVANCE if q else SortField.POPULARITY)
        if sort == SortField.RELEVANCE and scores is None:
            sort = SortField.POPULARITY
        if descending is None or sort == SortField.RELEVANCE:
            descending = sort in DESCENDING_BY_DEFAULT
        hits.sort(key=lambda e: e.product.product_id)  # stable tie-break
        hits.sort(key=_sort_key(sort, scores or {}), reverse=descending)
        if len(self._hits) >= HITS_CACHED:
            self._hits.clear()
        self._hits[key] = hits
        return hits

    def facets(
        self,
        *,
        category: str | None = None,
        filters: ListFilters | None = None,
        q: str | None = None,
    ) -> Facets:
        filters = filters or ListFilters()
        fails = self._failures(category, filters)
        scores = self.search(q) if q else None
        pool = self.entries.values() if scores is None else [self.entries[p] for p in scores]
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        total = 0
        for e in pool:
            failed = fails(e)
            if len(failed) > 1 or "status" in failed:
                continue
            (only,) = failed or (None,)
            total += only is None
            p = e.product
            for facet, values in (
                ("category", [p.category_slug]),
                ("brand", [p.brand]),
                ("price", [price_band(e.price)]),
                ("in_stock", ["true" if e.available > 0 else "false"]),
                *((f"attr:{k}", set(_attribute_values(p, k))) for k in _attribute_keys(p)),
            ):
                if only is None or only == facet:
                    counts[facet].update(values)

        def listed(facet: str) -> list[FacetValue]:
            return [
                FacetValue(value=v, count=n)
                for v, n in sorted(counts[facet].items(), key=lambda kv: (-kv[1], kv[0]))
            ]

        return Facets(
            total=total,
            categories=listed("category"),
            brands=listed("brand"),
            price_ranges=listed("price"),
            in_stock=listed("in_stock"),
            attributes={
                k.removeprefix("attr:"): listed(k) for k in sorted(counts) if k.startswith("attr:")
            },
        )


def _attribute_values(product: Product, key: str) -> list[str]:
    values = [product.attributes[key]] if key in product.attributes else []
    values += [v.attributes[key] for v in product.variants if key in v.attributes]
    return values


def _attribute_keys(product: Product) -> set[str]:
    return set(product.attributes) | {k for v in product.variants for k in v.attributes}


def _sort_key(sort: SortField, scores: dict[str, float]) -> Callable[[Entry], object]:
    return {
        SortField.PRICE: lambda e: e.price,
        SortField.NAME: lambda e: normalize(e.product.name),
        SortField.NEWEST: lambda e: e.product.published_at or e.product.created_at,
        SortField.POPULARITY: lambda e: e.product.analytics.purchases,
        SortField.RATING: lambda e: (e.rating, e.review_count),
        SortField.RELEVANCE: lambda e: scores.get(e.product.product_id, 0.0),
    }[sort]
