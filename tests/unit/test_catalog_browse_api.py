"""The catalog's browse routes over a loaded read model (no sidecar): one-call query
validation with FastAPI's error format, and page bytes equal to pydantic's encoding."""

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from apps.catalog.browse import BrowseService, SourceDoc
from apps.catalog.inventory import StockRecord
from apps.catalog.listings import page_json
from apps.catalog.main import app
from apps.catalog.seed import products
from apps.contracts.catalog import ListFilters, Product, ProductPage, SortField
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


class EventSource(FakeSource):
    """The store as another replica left it: what an event handler reads back."""

    async def product_doc(self, product_id: str) -> SourceDoc[Product] | None:
        found = self.docs.get(product_id)
        if found is None:
            return None
        return SourceDoc(product_id, found[1], lambda: found[0])

    async def stock_records(self, skus: list[str]) -> list[StockRecord]:
        return [self.stock[s] for s in skus if s in self.stock]


def test_events_apply_what_the_store_holds_and_never_go_back() -> None:
    items = [p for p in products(30) if p.status == "active"]
    source = EventSource(items)
    browse = BrowseService(source)
    asyncio.run(browse.reload())
    now = datetime.now(UTC)
    first = items[0]
    newer = first.model_copy(update={"name": "Newer", "updated_at": now + timedelta(seconds=1)})
    source.docs[first.product_id] = (newer, "2")
    asyncio.run(browse.product_event(first.product_id, now))
    assert browse.public_product(first.product_id) == (newer.model_dump_json().encode(), "2")

    older = first.model_copy(update={"name": "Older", "updated_at": now - timedelta(days=1)})
    source.docs[first.product_id] = (older, "1b")  # a read that raced a newer write
    asyncio.run(browse.product_event(first.product_id, now))
    assert browse.index.entries[first.product_id].product.name == "Newer"

    del source.docs[items[1].product_id]
    asyncio.run(browse.product_event(items[1].product_id, now))
    assert items[1].product_id not in browse.index.entries

    ancient = now - timedelta(hours=1)  # a new subscriber handed the topic's history
    source.docs[items[2].product_id] = (items[2].model_copy(update={"name": "Replayed"}), "9")
    asyncio.run(browse.product_event(items[2].product_id, ancient))
    assert browse.index.entries[items[2].product_id].product.name == items[2].name


def test_an_event_for_a_version_already_held_reads_nothing() -> None:
    items = [p for p in products(10) if p.status == "active"]
    source = EventSource(items)
    browse = BrowseService(source)
    asyncio.run(browse.reload())
    held = items[0]
    reads: list[str] = []
    real = source.product_doc

    async def counted(product_id: str) -> SourceDoc[Product] | None:
        reads.append(product_id)
        return await real(product_id)

    source.product_doc = counted  # type: ignore[method-assign]
    now = datetime.now(UTC)
    asyncio.run(browse.product_event(held.product_id, now, held))  # its own write, echoed
    assert reads == []
    newer = held.model_copy(update={"name": "Elsewhere", "updated_at": now + timedelta(seconds=1)})
    source.docs[held.product_id] = (newer, "7")
    asyncio.run(browse.product_event(held.product_id, now, newer))  # another replica's write
    assert reads == [held.product_id]
    assert browse.index.entries[held.product_id].product.name == "Elsewhere"
