"""The catalog read model: filters, facets, sorting, pagination and search ranking."""

from decimal import Decimal

import pytest

from apps.catalog.search import CatalogIndex, normalize, price_band, within, words
from apps.catalog.seed import categories, products
from apps.contracts.catalog import ListFilters, Product, SortField
from tests import factories
from tests.unit.test_catalog import NOW


def make(
    pid: str,
    name: str,
    brand: str,
    amount: str,
    category: str = "electronics-laptops",
    stock: int = 5,
    purchases: int = 0,
    color: str = "Black",
    **kw: object,
) -> Product:
    kw.setdefault("description", "")
    body = factories.product(product_id=pid, name=name, brand=brand, category_slug=category, **kw)
    body["price"]["amount"] = amount
    body["variants"] = [
        {
            "variant_id": f"{pid}-v",
            "sku": f"S-{pid}",
            "stock": stock,
            "attributes": {"color": color},
        }
    ]
    return Product.model_validate(
        {**body, "created_at": NOW, "updated_at": NOW, "analytics": {"purchases": purchases}}
    )


@pytest.fixture
def index() -> CatalogIndex:
    idx = CatalogIndex()
    idx.set_categories(categories())
    for p in [
        make("a", "Aurora UltraSlim Laptop", "Aurora", "999.00", purchases=5),
        make("b", "Vertex Gaming Laptop", "Vertex", "1899.00", purchases=9, color="Red"),
        make("c", "Vertex Pro Phone", "Vertex", "799.00", category="electronics-phones"),
        make(
            "d", "Crème Brûlée Cookbook", "Culina Press", "24.00", category="books-cooking", stock=0
        ),
        make("e", "Hidden Draft Laptop", "Aurora", "10.00", status="draft"),
    ]:
        idx.upsert(p)
    return idx


def test_text_is_folded() -> None:
    assert normalize("Crème BRÛLÉE") == "creme brulee"
    assert words("Wi-Fi 6E, 2-pack") == ["wi", "fi", "6e", "2", "pack"]
    assert within("laptpo", "laptop", 1)  # a swap is one typo
    assert within("lapop", "laptop", 1) and not within("laptop", "tablet", 2)
    assert price_band(Decimal("24.99")) == "0-25" and price_band(Decimal("1500")) == "1000+"


def test_category_includes_descendants_and_only_active_products(index: CatalogIndex) -> None:
    page = index.query(category="electronics")
    assert {i.product_id for i in page.items} == {"a", "b", "c"}
    assert index.query(category="electronics-laptops").total == 2


def test_filters_combine(index: CatalogIndex) -> None:
    f = ListFilters(brand=["vertex"], price_max=Decimal("1000"))
    assert [i.product_id for i in index.query(filters=f).items] == ["c"]
    assert [i.product_id for i in index.query(filters=ListFilters(in_stock=False)).items] == ["d"]
    by_color = ListFilters(attributes={"color": ["red"]})
    assert [i.product_id for i in index.query(filters=by_color).items] == ["b"]


def test_sorting_and_pagination(index: CatalogIndex) -> None:
    cheap_first = index.query(sort=SortField.PRICE)
    assert [i.product_id for i in cheap_first.items] == ["d", "c", "a", "b"]
    assert index.query(sort=SortField.PRICE, descending=True).items[0].product_id == "b"
    assert [i.product_id for i in index.query().items][:2] == ["b", "a"]  # popularity
    second = index.query(sort=SortField.NAME, page=2, limit=3)
    assert second.total == 4 and [i.product_id for i in second.items] == ["c"]


def test_pages_share_one_sorted_listing_until_the_catalog_changes(index: CatalogIndex) -> None:
    in_stock = ListFilters(in_stock=True)
    first = index.query(filters=in_stock, sort=SortField.PRICE, limit=2)
    second = index.query(filters=in_stock, sort=SortField.PRICE, page=2, limit=2)
    assert [i.product_id for i in first.items + second.items] == ["c", "a", "b"]
    assert first.items[0] is index.query(filters=in_stock, sort=SortField.PRICE).items[0]
    # a stock change is seen at once: the cached listing and the summary are rebuilt
    index.set_sku_available("c", "S-c", 0)
    after = index.query(filters=in_stock, sort=SortField.PRICE, limit=2)
    assert [i.product_id for i in after.items] == ["a", "b"] and after.total == 2
    everything = index.query(sort=SortField.PRICE)
    phone = next(i for i in everything.items if i.product_id == "c")
    assert phone.available == 0 and not phone.in_stock
    index.set_rating("a", Decimal("4.5"), 2)
    assert next(i for i in index.query().items if i.product_id == "a").rating == Decimal("4.5")
    index.upsert(make("f", "Budget Laptop", "Aurora", "5.00"))
    assert index.query(sort=SortField.PRICE).items[0].product_id == "f"


def test_facets_ignore_their_own_filter(index: CatalogIndex) -> None:
    facets = index.facets(filters=ListFilters(brand=["Vertex"]))
    assert facets.total == 2
    assert {f.value: f.count for f in facets.brands} == {
        "Vertex": 2,
        "Aurora": 1,
        "Culina Press": 1,
    }
    assert {f.value: f.count for f in facets.categories} == {
        "electronics-laptops": 1,
        "electronics-phones": 1,
    }
    assert {f.value: f.count for f in facets.attributes["color"]} == {"Red": 1, "Black": 1}


def test_search_ranks_tolerates_typos_accents_and_prefixes(index: CatalogIndex) -> None:
    assert [i.product_id for i in index.query(q="vertex laptop").items] == ["b"]
    assert [i.product_id for i in index.query(q="laptpo").items][:2] in (["a", "b"], ["b", "a"])
    assert [i.product_id for i in index.query(q="creme brulee").items] == ["d"]
    assert [i.product_id for i in index.query(q="cookb").items] == ["d"]  # prefix while typing
    assert index.query(q="vertex").items[0].product_id in {"b", "c"}
    assert index.query(q="zebra").total == 0
    name_hit = make(
        "f",
        "Aurora Desk",
        "Nordhaus",
        "100.00",
        category="home-furniture",
        description="not an aurora product at all",
    )
    index.upsert(name_hit)
    ranked = [i.product_id for i in index.query(q="aurora").items]
    assert ranked.index("a") < ranked.index("f")  # brand + name beats description


def test_upsert_and_remove_keep_document_frequencies(index: CatalogIndex) -> None:
    index.upsert(make("a", "Renamed Thing", "Aurora", "5.00"))
    assert index.query(q="ultraslim").total == 0
    index.remove("a")
    assert (
        index.doc_freq("renamed") == 0
        and "renamed" not in index.postings
        and index.query(q="renamed").total == 0
    )
    index.set_sku_available("c", "S-c", 0)
    assert index.query(filters=ListFilters(in_stock=True)).total == 1


def test_seeded_catalog_is_searchable() -> None:
    idx = CatalogIndex()
    idx.set_categories(categories())
    for p in products(1500):
        idx.upsert(p)
    page = idx.query(q="lapto", category="electronics")
    assert page.total > 0
    assert all(i.category_slug == "electronics-laptops" for i in page.items)
    assert idx.facets(category="fashion").total == idx.query(category="fashion").total
