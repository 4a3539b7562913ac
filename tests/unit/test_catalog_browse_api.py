"""The catalog's browse routes over a loaded read model (no sidecar): one-call query
validation with FastAPI's error format, and page bytes equal to pydantic's encoding."""

import asyncio
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from apps.catalog.browse import BrowseService
from apps.catalog.listings import page_json
from apps.catalog.main import app
from apps.catalog.seed import products
from apps.contracts.catalog import ListFilters, ProductPage, SortField
from tests.unit.test_browse_service import FakeSource


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    browse = BrowseService(FakeSource(list(products(300))))
    asyncio.run(browse.reload())
    app.state.browse = browse
    yield TestClient(app)  # no lifespan: nothing to reach


def test_a_page_is_the_bytes_pydantic_would_encode(client: TestClient) -> None:
    browse: BrowseService = app.state.browse
    hits = browse.index.hits("electronics", ListFilters(in_stock=True), sort=SortField.PRICE)
    page = browse.index.query(
        category="electronics",
        filters=ListFilters(in_stock=True),
        sort=SortField.PRICE,
        page=2,
        limit=5,
    )
    assert page_json(hits, 2, 5) == page.model_dump_json().encode()
    answer = client.get(
        "/products",
        params={
            "category": "electronics",
            "filters": '{"in_stock": true}',
            "sort": "price",
            "page": 2,
            "limit": 5,
        },
    )
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert ProductPage.model_validate_json(answer.content) == page


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/products", {"limit": 1000}, "limit"),
        ("/products", {"sort": "colour"}, "sort"),
        ("/products", {"page": "two"}, "page"),
        ("/products", {"category": "No Such!"}, "category"),
        ("/products/search", {}, "q"),
        ("/products/search", {"q": "x" * 201}, "q"),
    ],
)
def test_a_bad_query_is_the_standard_400(
    client: TestClient, path: str, params: dict[str, object], field: str
) -> None:
    answer = client.get(path, params=params)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "INVALID_REQUEST"
    assert [e["loc"] for e in error["details"]["errors"]] == [["query", field]]


def test_search_and_unknown_parameters(client: TestClient) -> None:
    found = client.get("/products/search", params={"q": "laptop", "limit": 3, "utm": "x"}).json()
    assert found["limit"] == 3 and found["total"] >= len(found["items"])
    assert client.get("/products", params={"category": "no-such"}).status_code == 404


def test_the_openapi_document_still_lists_the_query() -> None:
    operation = app.openapi()["paths"]["/products/search"]["get"]
    names = {p["name"]: p["required"] for p in operation["parameters"]}
    assert names == {
        "q": True,
        "category": False,
        "filters": False,
        "sort": False,
        "order": False,
        "page": False,
        "limit": False,
    }
    sort = next(p for p in operation["parameters"] if p["name"] == "sort")
    assert "$ref" not in str(sort) and "price" in str(sort)


def test_the_public_product_page_comes_from_the_read_model_with_the_store_etag() -> None:
    items = [p for p in products(40) if p.status == "active"]
    source = FakeSource(items)
    source.docs[items[0].product_id] = (items[0], "etag-7")
    browse = BrowseService(source)
    asyncio.run(browse.reload())
    body, etag = browse.public_product(items[0].product_id) or (b"", "")
    assert etag == "etag-7" and body == items[0].model_dump_json().encode()

    renamed = items[0].model_copy(update={"name": "Renamed"})
    browse.product_written(renamed)  # written here, its new tag not read back yet
    assert browse.public_product(items[0].product_id) is None  # the store must answer
    browse.product_read(renamed, "etag-8")  # ... and the page read it with its tag
    assert browse.public_product(items[0].product_id) == (
        renamed.model_dump_json().encode(),
        "etag-8",
    )
    browse.product_read(items[0], "etag-7")  # an older read never replaces a known tag
    assert browse.public_product(items[0].product_id)[1] == "etag-8"  # type: ignore[index]

    archived = renamed.model_copy(update={"status": "archived"})
    browse.product_written(archived, "etag-9")
    assert browse.public_product(items[0].product_id) is None  # not shown: the store decides
