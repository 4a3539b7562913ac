"""The catalog's read model: an in-memory index of products for browsing, facets and search.

Pure (no I/O): the app loads it from the state store and keeps it current (see browse.py).
- Filters: category with its descendants, brands, price range, in stock, rating, attributes.
- Listings: each sort's full order is kept per shape of the index (apps/catalog/listings.py);
  a listing is a scan of it, a price filter a pass over that listing, a page a slice.
- Facets count what the current filter set leaves, each facet ignoring its own filter (so a
  shopper sees how many items another brand or price band would give).
- Search: accents and case folded; every query word must match a term in the name, brand,
  category, attributes or description, exactly, as a prefix (the last word, while typing), or
  within a small edit distance (typos); ranked by field-weighted tf-idf.
"""

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain

from apps.catalog.listings import (
    DESCENDING_BY_DEFAULT,
    PRICE_BANDS,
    Bounded,
    Entry,
    SortOrders,
    filter_tests,
    passing,
    price_band,
    price_test,
    sort_entries,
)
from apps.catalog.text import normalize, typo_budget, within, words
from apps.contracts.catalog import (
    Category,
    Facets,
    FacetValue,
    ListFilters,
    Product,
    ProductPage,
    SortField,
)

__all__ = ["PRICE_BANDS", "CatalogIndex", "Entry", "normalize", "price_band", "within", "words"]

FIELD_WEIGHTS = {"name": 3.0, "brand": 2.0, "category": 1.5, "attributes": 1.0, "description": 0.5}
#: Distinct listings (filters x search x sort) whose sorted hits are kept per version.
HITS_CACHED = 256


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
    #: Bumped by changes that can reorder a listing (products, ratings); a stock figure
    #: changes `version` only, and the sort orders stay.
    shape: int = 0
    _orders: SortOrders | None = field(default=None, repr=False)
    _orders_shape: int = -1
    #: Per version: sorted hits per (category, filters, search, sort), and per listing
    #: without its price range (what a new price filter is a pass over).
    _hits: Bounded[tuple[object, ...], list[Entry]] = field(
        default_factory=lambda: Bounded(HITS_CACHED), repr=False
    )
    _unpriced: Bounded[tuple[object, ...], list[Entry]] = field(
        default_factory=lambda: Bounded(HITS_CACHED), repr=False
    )
    _cached_version: int = -1
    _descendants: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    # -- maintenance ---------------------------------------------------------------------
    def set_categories(self, categories: Iterable[Category]) -> None:
        self.version += 1
        self.categories = {c.slug: c for c in categories}
        self._descendants = {}
        self.shape += 1  # a category's listing may hold other slugs now

    def upsert(self, product: Product, etag: str | None = None) -> None:
        """Add or replace a product; `etag` is the store's tag of this version, if known."""
        self.version += 1
        self.shape += 1
        old = self.entries.get(product.product_id)
        if old is not None:
            self._unlink(old)
        terms = self._terms(product)
        self.entries[product.product_id] = Entry(
            product,
            terms,
            old.rating if old else Decimal("0"),
            old.review_count if old else 0,
            dict(old.sku_available) if old else {},
            etag,
        )
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
        entry = self.entries.get(product_id)
        if entry is not None and (entry.rating, entry.review_count) != (average, count):
            self.version += 1
            self.shape += 1
            entry.rated(average, count)

    def remove(self, product_id: str) -> None:
        old = self.entries.pop(product_id, None)
        if old is not None:
            self.version += 1
            self.shape += 1
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
    def descendants(self, slug: str) -> frozenset[str]:
        """The category and everything under it (kept until the categories change)."""
        found = self._descendants.get(slug)
        if found is not None:
            return found
        children: dict[str | None, list[str]] = defaultdict(list)
        for c in self.categories.values():
            children[c.parent_slug].append(c.slug)
        seen, stack = set(), [slug]
        while stack:
            current = stack.pop()
            seen.add(current)
            stack.extend(children.get(current, []))
        self._descendants[slug] = found = frozenset(seen)
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

    def sort_orders(self) -> SortOrders:
        """The active products in every sort order, for the current shape of the index."""
        if self._orders is None or self._orders_shape != self.shape:
            self._orders = SortOrders(self.entries.values())
            self._orders_shape = self.shape
        return self._orders

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
        hits = self.hits(category, filters or ListFilters(), q, sort, descending)
        start = (page - 1) * limit
        return ProductPage(
            items=[e.summary() for e in hits[start : start + limit]],
            total=len(hits),
            page=page,
            limit=limit,
        )

    def hits(
        self,
        category: str | None,
        filters: ListFilters,
        q: str | None = None,
        sort: SortField | None = None,
        descending: bool | None = None,
    ) -> list[Entry]:
        """Every active entry of the listing, in its order (do not change the list)."""
        if self._cached_version != self.version:
            self._hits.clear()
            self._unpriced.clear()
            self._cached_version = self.version
        sort = sort or (SortField.RELEVANCE if q else SortField.POPULARITY)
        if sort == SortField.RELEVANCE and not q:
            sort = SortField.POPULARITY
        if descending is None or sort == SortField.RELEVANCE:
            descending = sort in DESCENDING_BY_DEFAULT
        key = (category, filters.model_dump_json(), q, sort, descending)
        hits = self._hits.get(key)
        if hits is None:
            hits = (
                self._searched(category, filters, q, sort, descending)
                if q
                else self._listed(category, filters, sort, descending)
            )
            self._hits.put(key, hits)
        return hits

    def _listed(
        self, category: str | None, filters: ListFilters, sort: SortField, descending: bool
    ) -> list[Entry]:
        """A scan of the presorted order; a price range is a further pass over the listing
        without it (cached), so a price nobody asked before costs a linear filter."""
        low, high = filters.price_min, filters.price_max
        unpriced = filters.model_copy(update={"price_min": None, "price_max": None})
        key = (category, unpriced.model_dump_json(), sort, descending)
        listing = self._unpriced.get(key)
        if listing is None:
            allowed = self.descendants(category) if category else frozenset()
            order = self.sort_orders().order(sort, descending, category, allowed)
            listing = passing(order, filter_tests(unpriced, None))
            self._unpriced.put(key, listing)
        if low is None and high is None:
            return listing
        within_range = price_test(low, high)
        return [e for e in listing if within_range(e)]

    def _searched(
        self,
        category: str | None,
        filters: ListFilters,
        q: str,
        sort: SortField,
        descending: bool,
    ) -> list[Entry]:
        scores = self.search(q)
        allowed = self.descendants(category) if category else None
        pool = (self.entries[pid] for pid in scores)
        hits = passing((e for e in pool if e.active), filter_tests(filters, allowed))
        sort_entries(hits, sort, descending, scores)
        return hits

    def facets(
        self,
        *,
        category: str | None = None,
        filters: ListFilters | None = None,
        q: str | None = None,
    ) -> Facets:
        filters = filters or ListFilters()
        tests = filter_tests(filters, self.descendants(category) if category else None)
        if q:
            pool = [e for e in (self.entries[p] for p in self.search(q)) if e.active]
        else:
            pool = self.sort_orders().active
        passed: list[Entry] = []
        failed_one: dict[str, list[Entry]] = defaultdict(list)  # failed that test only
        for e in pool:
            only = None
            for name, test in tests:
                if not test(e):
                    if only is not None:
                        break
                    only = name
            else:
                if only is None:
                    passed.append(e)
                else:
                    failed_one[only].append(e)
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        pairs = Counter(chain.from_iterable(_pairs(e) for e in passed))
        for (facet, value), n in pairs.items():
            counts[facet][value] = n
        for facet, entries in failed_one.items():
            if facet == "in_stock":
                counts[facet].update(_in_stock(e) for e in entries)
            elif facet in _FACETS or facet.startswith("attr:"):
                counts[facet].update(
                    chain.from_iterable(e.facet_values.get(facet, ()) for e in entries)
                )
        total = len(passed)
        counts = {facet: found for facet, found in counts.items() if found}

        def listed(facet: str) -> list[FacetValue]:
            return [
                FacetValue(value=v, count=n)
                for v, n in sorted(counts.get(facet, {}).items(), key=lambda kv: (-kv[1], kv[0]))
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


_FACETS = frozenset({"category", "brand", "price"})


def _in_stock(e: Entry) -> str:
    return "true" if e.available > 0 else "false"


def _pairs(e: Entry) -> Iterable[tuple[str, str]]:
    """Every (facet, value) an entry that passes all filters counts in."""
    for facet, values in e.facet_values.items():
        for value in values:
            yield facet, value
    yield "in_stock", _in_stock(e)
