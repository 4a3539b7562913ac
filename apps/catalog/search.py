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

    def recount(self) -> None:
        """Product availability: each variant's live figure, else its catalog stock."""
        self.available = sum(
            max(self.sku_available.get(v.sku, v.stock), 0) for v in self.product.variants
        )

    @property
    def price(self) -> Decimal:
        return self.product.price.amount

    def summary(self) -> ProductSummary:
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
    doc_freq: Counter[str] = field(default_factory=Counter)

    # -- maintenance ---------------------------------------------------------------------
    def set_categories(self, categories: Iterable[Category]) -> None:
        self.categories = {c.slug: c for c in categories}

    def upsert(self, product: Product) -> None:
        old = self.entries.get(product.product_id)
        if old is not None:
            self.doc_freq.subtract(old.terms.keys())
        terms = self._terms(product)
        self.doc_freq.update(terms.keys())
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

    def set_sku_available(self, product_id: str, sku: str, available: int) -> None:
        entry = self.entries.get(product_id)
        if entry is not None:
            entry.sku_available[sku] = available
            entry.recount()

    def remove(self, product_id: str) -> None:
        old = self.entries.pop(product_id, None)
        if old is not None:
            self.doc_freq.subtract(old.terms.keys())

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

    def search(self, q: str) -> dict[str, float]:
        """Scores of the products matching every word of `q` (empty when none do)."""
        query = words(q)
        if not query:
            return {}
        vocabulary = [t for t, n in self.doc_freq.items() if n > 0]
        total = max(len(self.entries), 1)
        expansions = []
        for i, word in enumerate(query):
            budget = typo_budget(word)
            options: dict[str, float] = {}
            for term in vocabulary:
                if term == word:
                    options[term] = 1.0
                elif i == len(query) - 1 and len(word) >= 2 and term.startswith(word):
                    options[term] = max(options.get(term, 0), 0.8)
                elif budget and within(word, term, budget):
                    options[term] = max(options.get(term, 0), 0.6)
            expansions.append(options)
        scores: dict[str, float] = {}
        for pid, entry in self.entries.items():
            score = 0.0
            for options in expansions:
                best = 0.0
                for term, penalty in options.items():
                    weight = entry.terms.get(term)
                    if weight:
                        idf = math.log(1 + total / self.doc_freq[term])
                        best = max(best, weight * idf * penalty)
                if best == 0.0:
                    break
                score += best
            else:
                scores[pid] = score
        return scores

    def _predicate(
        self, category: str | None, filters: ListFilters, skip: str | None = None
    ) -> Callable[[Entry], bool]:
        allowed = self.descendants(category) if category else None
        brands = {normalize(b) for b in filters.brand}
        attributes = {k: {normalize(v) for v in vs} for k, vs in filters.attributes.items() if vs}

        def ok(e: Entry) -> bool:
            p = e.product
            if p.status != ProductStatus.ACTIVE:
                return False
            if allowed is not None and skip != "category" and p.category_slug not in allowed:
                return False
            if brands and skip != "brand" and normalize(p.brand) not in brands:
                return False
            if skip != "price":
                if filters.price_min is not None and e.price < filters.price_min:
                    return False
                if filters.price_max is not None and e.price > filters.price_max:
                    return False
            if (
                filters.in_stock is not None
                and skip != "in_stock"
                and ((e.available > 0) != filters.in_stock)
            ):
                return False
            if filters.rating_min is not None and e.rating < filters.rating_min:
                return False
            for key, wanted in attributes.items():
                if skip == f"attr:{key}":
                    continue
                values = {normalize(v) for v in _attribute_values(p, key)}
                if not values & wanted:
                    return False
            return True

        return ok

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
        ok = self._predicate(category, filters)
        scores = self.search(q) if q else None
        hits = [
            e
            for e in self.entries.values()
            if ok(e) and (scores is None or e.product.product_id in scores)
        ]
        sort = sort or (SortField.RELEVANCE if q else SortField.POPULARITY)
        if sort == SortField.RELEVANCE and scores is None:
            sort = SortField.POPULARITY
        if descending is None or sort == SortField.RELEVANCE:
            descending = sort in DESCENDING_BY_DEFAULT
        hits.sort(key=lambda e: e.product.product_id)  # stable tie-break
        hits.sort(key=_sort_key(sort, scores or {}), reverse=descending)
        start = (page - 1) * limit
        return ProductPage(
            items=[e.summary() for e in hits[start : start + limit]],
            total=len(hits),
            page=page,
            limit=limit,
        )

    def facets(
        self,
        *,
        category: str | None = None,
        filters: ListFilters | None = None,
        q: str | None = None,
    ) -> Facets:
        filters = filters or ListFilters()
        scores = self.search(q) if q else None
        pool = [
            e for e in self.entries.values() if scores is None or e.product.product_id in scores
        ]

        def count(skip: str | None, value_of: Callable[[Entry], Iterable[str]]) -> list[FacetValue]:
            ok = self._predicate(category, filters, skip)
            counter: Counter[str] = Counter()
            for e in pool:
                if ok(e):
                    counter.update(set(value_of(e)))
            return [
                FacetValue(value=v, count=n)
                for v, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
            ]

        total = sum(1 for e in pool if self._predicate(category, filters)(e))
        attribute_keys = sorted({k for e in pool for k in _attribute_keys(e.product)})
        return Facets(
            total=total,
            categories=count("category", lambda e: [e.product.category_slug]),
            brands=count("brand", lambda e: [e.product.brand]),
            price_ranges=count("price", lambda e: [price_band(e.price)]),
            in_stock=count("in_stock", lambda e: ["true" if e.available > 0 else "false"]),
            attributes={
                k: count(f"attr:{k}", lambda e, k=k: _attribute_values(e.product, k))
                for k in attribute_keys
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
