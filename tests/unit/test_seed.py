"""The catalog generator: deterministic, valid, and shaped like a real shop."""

from collections import Counter

from apps.catalog.seed import categories, products


def test_same_seed_same_catalog_and_another_seed_differs() -> None:
    a = [p.model_dump_json() for p in products(300, seed=7)]
    assert a == [p.model_dump_json() for p in products(300, seed=7)]
    assert a != [p.model_dump_json() for p in products(300, seed=8)]


def test_category_tree_and_product_shape() -> None:
    cats = categories()
    slugs = {c.slug for c in cats}
    assert len(cats) == 56
    assert all(c.parent_slug in slugs for c in cats if c.parent_slug)
    items = list(products(2000))
    assert len({p.product_id for p in items}) == 2000
    skus = [v.sku for p in items for v in p.variants]
    assert len(skus) == len(set(skus))  # SKUs are unique across the catalog
    assert {p.category_slug for p in items} <= {c.slug for c in cats if c.parent_slug}
    status = Counter(p.status for p in items)
    assert 0.9 < status["active"] / 2000 < 0.99
    on_sale = sum(p.price.compare_at is not None for p in items) / 2000
    assert 0.1 < on_sale < 0.3
    out = sum(v.stock == 0 for p in items for v in p.variants) / len(skus)
    assert 0.03 < out < 0.15
    assert all(p.price.compare_at is None or p.price.compare_at > p.price.amount for p in items)
    assert len({p.brand for p in items}) > 40
