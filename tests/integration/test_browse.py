"""Browsing the seeded catalog through the storefront: categories, filters, facets, sort,
pagination and search, and the read model following writes and stock at once."""

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests import factories
from tests.harness import Cluster


@pytest.fixture(scope="module")
def api(cluster: Cluster) -> httpx.Client:
    assert cluster.seed("--products", "600", "--batch", "200") == 0
    return cluster.client("storefront")


def _f(**filters: Any) -> str:
    return json.dumps(filters)


def test_category_listing_includes_descendants_and_pages(api: httpx.Client) -> None:
    first = api.get("/api/products", params={"category": "electronics", "limit": 10}).json()
    assert first["total"] > 10 and len(first["items"]) == 10
    assert all(i["category_slug"].startswith("electronics-") for i in first["items"])
    second = api.get(
        "/api/products", params={"category": "electronics", "limit": 10, "page": 2}
    ).json()
    assert not {i["product_id"] for i in first["items"]} & {
        i["product_id"] for i in second["items"]
    }
    cheap = api.get(
        "/api/products",
        params={"category": "electronics", "sort": "price", "order": "asc", "limit": 50},
    ).json()["items"]
    prices = [Decimal(i["price"]["amount"]) for i in cheap]
    assert prices == sorted(prices)


def test_filters_and_facets_agree(api: httpx.Client) -> None:
    facets = api.get("/api/products/filters", params={"category": "fashion"}).json()
    brand, count = facets["brands"][0]["value"], facets["brands"][0]["count"]
    listed = api.get(
        "/api/products", params={"category": "fashion", "filters": _f(brand=[brand])}
    ).json()
    assert listed["total"] == count
    ranged = api.get(
        "/api/products",
        params={"category": "fashion", "filters": _f(price_min=20, price_max=60, in_stock=True)},
    ).json()
    assert all(
        Decimal("20") <= Decimal(i["price"]["amount"]) <= Decimal("60") and i["in_stock"]
        for i in ranged["items"]
    )
    narrowed = api.get(
        "/api/products/filters", params={"category": "fashion", "filters": _f(brand=[brand])}
    ).json()
    assert narrowed["total"] == count
    assert {b["value"] for b in narrowed["brands"]} == {b["value"] for b in facets["brands"]}


def test_search_is_ranked_and_typo_tolerant(api: httpx.Client) -> None:
    exact = api.get("/api/products/search", params={"q": "laptop", "limit": 100}).json()
    typo = api.get("/api/products/search", params={"q": "Laptpo", "limit": 100}).json()
    assert exact["total"] > 0 and typo["total"] > 0
    assert {i["product_id"] for i in typo["items"]} <= {i["product_id"] for i in exact["items"]}
    assert all("laptop" in i["name"].lower() for i in typo["items"])
    scoped = api.get(
        "/api/products/search",
        params={"q": "black", "category": "fashion", "filters": _f(in_stock=True)},
    ).json()
    assert all(i["category_slug"].startswith("fashion-") for i in scoped["items"])


def test_bad_browse_requests_get_the_standard_error(api: httpx.Client) -> None:
    bad_json = api.get("/api/products", params={"filters": "{not json"})
    assert bad_json.status_code == 400 and bad_json.json()["error"]["code"] == "INVALID_REQUEST"
    bad_field = api.get("/api/products", params={"filters": _f(price_min=-1)})
    assert bad_field.status_code == 400
    assert api.get("/api/products", params={"limit": 1000}).status_code == 400
    assert api.get("/api/products", params={"sort": "colour"}).status_code == 400
    assert api.get("/api/products", params={"category": "no-such"}).status_code == 404
    assert api.get("/api/products/search").status_code == 400


def test_categories_tree_and_breadcrumb(api: httpx.Client) -> None:
    tree = api.get("/api/categories").json()
    assert len(tree) == 8
    electronics = next(c for c in tree if c["slug"] == "electronics")
    assert electronics["product_count"] == sum(c["product_count"] for c in electronics["children"])
    leaf = api.get("/api/categories/electronics-laptops").json()
    assert [c["slug"] for c in leaf["breadcrumb"]] == ["electronics"]
    assert api.get("/api/categories/nope").status_code == 404


def test_featured_and_related(api: httpx.Client) -> None:
    featured = api.get("/api/products/featured", params={"limit": 5}).json()["items"]
    assert len(featured) == 5 and all(i["in_stock"] for i in featured)
    pid = featured[0]["product_id"]
    related = api.get(f"/api/products/{pid}/related").json()["items"]
    assert related and pid not in {i["product_id"] for i in related}
    assert {i["category_slug"] for i in related} == {featured[0]["category_slug"]}


def test_read_model_follows_writes_and_stock_at_once(api: httpx.Client, cluster: Cluster) -> None:
    body = factories.product(category_slug="electronics-laptops", name="Zyxwv Quantum Laptop")
    body["variants"] = [
        {"variant_id": f"{body['product_id']}-v1", "sku": f"SKU-{body['product_id']}-Q", "stock": 2}
    ]
    etag = api.post("/api/staff/products", json=body).headers["ETag"]
    found = api.get("/api/products/search", params={"q": "zyxwv"}).json()
    assert [i["product_id"] for i in found["items"]] == [body["product_id"]]

    with cluster.invoker("catalog", timeout=30) as catalog:
        catalog.post(
            "/inventory/reservations",
            json={
                "order_id": factories.ref("o"),
                "lines": [{"sku": f"SKU-{body['product_id']}-Q", "quantity": 2}],
            },
        ).raise_for_status()
    in_stock = api.get(
        "/api/products/search", params={"q": "zyxwv", "filters": _f(in_stock=True)}
    ).json()
    assert in_stock["total"] == 0

    archived = api.patch(
        f"/api/staff/products/{body['product_id']}",
        json={"status": "archived"},
        headers={"If-Match": etag},
    )
    assert archived.status_code == 200
    assert api.get("/api/products/search", params={"q": "zyxwv"}).json()["total"] == 0


def test_staff_manage_categories(api: httpx.Client) -> None:
    dept = {"slug": factories.ref("garden").lower(), "name": "Garden", "sort_order": 9}
    created = api.post("/api/staff/categories", json=dept)
    assert created.status_code == 201, created.text
    assert api.post("/api/staff/categories", json=dept).status_code == 201  # a retry
    assert api.post("/api/staff/categories", json={**dept, "name": "Other"}).status_code == 409
    leaf = {"slug": f"{dept['slug']}-tools", "name": "Tools", "parent_slug": dept["slug"]}
    assert api.post("/api/staff/categories", json=leaf).status_code == 201
    orphan = {"slug": f"{dept['slug']}-x", "name": "X", "parent_slug": "no-such-parent"}
    assert api.post("/api/staff/categories", json=orphan).status_code == 400

    tree = {c["slug"]: c for c in api.get("/api/categories").json()}
    assert [c["slug"] for c in tree[dept["slug"]]["children"]] == [leaf["slug"]]

    etag = created.headers["ETag"]
    loop = api.patch(
        f"/api/staff/categories/{dept['slug']}",
        json={"parent_slug": leaf["slug"]},
        headers={"If-Match": etag},
    )
    assert loop.status_code == 409
    renamed = api.patch(
        f"/api/staff/categories/{dept['slug']}",
        json={"name": "Garden & Patio"},
        headers={"If-Match": etag},
    )
    assert renamed.status_code == 200, renamed.text
    stale = api.patch(
        f"/api/staff/categories/{dept['slug']}", json={"name": "Lost"}, headers={"If-Match": etag}
    )
    assert stale.status_code == 409
    assert api.get(f"/api/categories/{dept['slug']}").json()["name"] == "Garden & Patio"
